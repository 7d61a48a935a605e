//! What ships beside the code: the Dockerfile (no container engine here,
//! so it is parsed and cross-checked against the manifests), the image
//! tags, and the krew manifest.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(p: &str) -> String {
    std::fs::read_to_string(root().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn yaml_docs(p: &str) -> Vec<Value> {
    argo_api::load::documents(&read(p)).unwrap().into_iter().map(|d| d.value).collect()
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A Dockerfile stage: its base, and its instructions (continuations joined).
#[derive(Debug, Default)]
struct Stage {
    from: String,
    instructions: Vec<(String, String)>,
}

fn stages(text: &str) -> BTreeMap<String, Stage> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(t);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut name = String::new();
    for line in joined {
        let (op, rest) = line.split_once(' ').unwrap_or((&line, ""));
        match op.to_uppercase().as_str() {
            "FROM" => {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                assert!(parts.len() == 3 && parts[1].eq_ignore_ascii_case("AS"), "every stage is named: {line}");
                name = parts[2].to_owned();
                out.insert(
                    name.clone(),
                    Stage {
                        from: parts[0].to_owned(),
                        instructions: vec![],
                    },
                );
            }
            "ARG" if name.is_empty() => {}
            other => {
                let stage = out.get_mut(&name).unwrap_or_else(|| panic!("{line} before any FROM"));
                stage.instructions.push((other.to_owned(), rest.trim().to_owned()));
            }
        }
    }
    out
}

fn container(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"][0]
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind && d["metadata"]["name"] == name).unwrap()
}

#[test]
fn dockerfile_builds_the_executor_image_the_controller_defaults_to() {
    let stages = stages(&read("Dockerfile"));
    let s = &stages["exec"];
    assert_eq!(s.from, "scratch");
    let arg = |op: &str| s.instructions.iter().find(|(o, _)| o == op).map(|(_, a)| a.clone()).unwrap_or_default();
    assert_eq!(arg("COPY"), "--from=build /out/argo-exec /argo-exec");
    assert_eq!(arg("ENTRYPOINT"), "[\"/argo-exec\"]", "the init container runs /argo-exec install");
    assert!(arg("USER").split(':').all(|id| id.parse::<u32>().is_ok_and(|id| id != 0)));
    let build = stages["build"].instructions.iter().find(|(o, a)| o == "RUN" && a.contains("cargo build")).unwrap();
    assert!(build.1.contains("-p argo-exec") && build.1.contains("target/release/argo-exec"));
    assert_eq!(argo_api::executor::Executor::default().image, format!("ghcr.io/argo-rs/argo-exec:v{VERSION}"));
}

#[test]
fn dockerfile_builds_static_non_root_images_that_match_the_manifests() {
    let stages = stages(&read("Dockerfile"));
    assert!(stages.contains_key("build"));
    let bins = [
        ("controller", "argo-controller", "controller/deployment.yaml"),
        ("webhook", "argo-webhook", "webhook/deployment.yaml"),
    ];
    for (stage, binary, manifest) in bins {
        let s = &stages[stage];
        assert!(
            s.from == "scratch" || s.from.starts_with("gcr.io/distroless/static"),
            "{stage}: no shell in the base"
        );
        let ops: Vec<&str> = s.instructions.iter().map(|(op, _)| op.as_str()).collect();
        assert!(!ops.contains(&"RUN"), "{stage}: nothing runs in the final image (it has no shell)");
        let arg = |op: &str| s.instructions.iter().find(|(o, _)| o == op).map(|(_, a)| a.clone()).unwrap_or_default();
        assert_eq!(arg("COPY"), format!("--from=build /out/{binary} /{binary}"));
        assert_eq!(arg("ENTRYPOINT"), format!("[\"/{binary}\"]"));
        let user: Vec<u32> = arg("USER").split(':').map(|p| p.parse().unwrap()).collect();
        assert!(user.iter().all(|id| *id != 0), "{stage}: non-root user");
        // The binary is one this workspace builds.
        let build = stages["build"].instructions.iter().find(|(o, a)| o == "RUN" && a.contains("cargo build")).unwrap();
        assert!(build.1.contains(&format!("-p {binary}")) && build.1.contains(&format!("target/release/{binary}")));
        assert!(
            read(&format!("{}/Cargo.toml", binary.trim_start_matches("argo-")))
                .contains(&format!("name = \"{binary}\""))
        );

        let docs = yaml_docs(&format!("manifests/{manifest}"));
        let d = find(&docs, "Deployment", binary);
        let c = container(d);
        assert_eq!(c["image"], format!("ghcr.io/argo-rs/{binary}:v{VERSION}"), "the tag is the version");
        assert_eq!(d["spec"]["template"]["spec"]["securityContext"]["runAsUser"], user[0]);
        let exposed: Vec<i64> = arg("EXPOSE").split_whitespace().map(|p| p.parse().unwrap()).collect();
        let ports: Vec<i64> =
            c["ports"].as_array().unwrap().iter().map(|p| p["containerPort"].as_i64().unwrap()).collect();
        assert_eq!(exposed, ports, "{stage}: EXPOSE matches the containerPorts");
        // The ports the binary is told to listen on are those ports.
        let args = c["args"].to_string();
        for port in &ports {
            assert!(args.contains(&format!(":{port}")), "{stage}: args {args} listen on {port}");
        }
    }
}

#[test]
fn the_plugin_reports_the_version_the_images_are_tagged_with() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-argo"))
        .args(["version", "-o", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], format!("v{VERSION}"));
}

#[test]
fn the_krew_manifest_covers_every_platform_with_the_right_binary() {
    let docs = yaml_docs("krew/argo.yaml");
    let m = &docs[0];
    assert_eq!(m["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2");
    assert_eq!(m["metadata"]["name"], "argo", "kubectl argo");
    assert_eq!(m["spec"]["version"], format!("v{VERSION}"));
    let short = m["spec"]["shortDescription"].as_str().unwrap();
    assert!(short.len() <= 50 && !short.ends_with('.'), "krew style: short, no full stop: {short:?}");
    let mut seen = Vec::new();
    for p in m["spec"]["platforms"].as_array().unwrap() {
        let (os, arch) = (
            p["selector"]["matchLabels"]["os"].as_str().unwrap(),
            p["selector"]["matchLabels"]["arch"].as_str().unwrap(),
        );
        let exe = if os == "windows" { ".exe" } else { "" };
        assert_eq!(p["bin"], format!("kubectl-argo{exe}"), "{os}/{arch}");
        assert!(p["uri"].as_str().unwrap().ends_with(&format!("/v{VERSION}/kubectl-argo-{os}-{arch}.tar.gz")));
        seen.push(format!("{os}/{arch}"));
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "darwin/amd64",
            "darwin/arm64",
            "linux/amd64",
            "linux/arm64",
            "windows/amd64"
        ]
    );
}
