//! What an image runs when its container gives no command: read from the
//! image's config in its registry (as upstream's emissary does), cached,
//! so the pod can run that command under `argo-exec`. Anonymous pulls only;
//! `--image-command` covers the rest.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argo_api::Workflow;
use argo_api::executor::{Executor, ImageCommand};
use argo_api::workflow::Template;
use futures::future::join_all;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

/// A failed lookup is tried again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// Lookups one reconcile waits for at most: a workflow naming thousands of
/// images cannot keep the controller busy.
const MAX_PER_PASS: usize = 16;
/// Images remembered; past it the oldest failures go first, then anything.
const MAX_CACHED: usize = 4096;

enum Cached {
    Known(ImageCommand),
    Failed { why: String, at: Instant },
}

pub struct Images {
    /// Why there is none: lookups then fail with it, the controller runs on.
    client: Result<Client, String>,
    /// Look images up as MIRROR/<registry>/<repository> (the layout
    /// containerd's mirror `override_path` uses).
    mirror: Option<String>,
    cache: Mutex<HashMap<String, Cached>>,
}

impl Images {
    /// `mirror`: `http://host:port` or `https://host:port`.
    pub fn new(mirror: Option<&str>) -> Images {
        let (mirror, protocol) = match mirror {
            Some(m) => match m.strip_prefix("http://") {
                Some(host) => (
                    Some(host.trim_end_matches('/').to_owned()),
                    ClientProtocol::HttpsExcept(vec![host.trim_end_matches('/').to_owned()]),
                ),
                None => {
                    (Some(m.trim_start_matches("https://").trim_end_matches('/').to_owned()), ClientProtocol::Https)
                }
            },
            None => (None, ClientProtocol::Https),
        };
        // Mozilla's roots, not the system's: the image has no CA store.
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate {
                encoding: CertificateEncoding::Der,
                data: c.to_vec(),
            })
            .collect();
        let config = ClientConfig {
            protocol,
            tls_certs_only: roots,
            connect_timeout: Some(Duration::from_secs(5)),
            read_timeout: Some(Duration::from_secs(10)),
            ..Default::default()
        };
        // oci-client builds a default reqwest client besides ours, which
        // panics where no CA store exists: that must not stop the controller.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Client::try_from(config)));
        let client = match built {
            Ok(c) => c.map_err(|e| format!("no registry client: {e}")),
            Err(_) => Err("no registry client: no CA certificates on this system (/etc/ssl/certs)".to_owned()),
        };
        if let Err(e) = &client {
            tracing::warn!(error = %e, "image configs cannot be read; commands without `command` run unwrapped");
        }
        Images {
            client,
            mirror,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// `base` with what the workflow's command-less images run.
    pub async fn executor_for(&self, base: &Executor, wf: &Workflow) -> Executor {
        let wanted: Vec<String> = commandless_images(wf).into_iter().filter(|i| base.entrypoint(i).is_none()).collect();
        let mut exec = base.clone();
        if wanted.is_empty() {
            return exec;
        }
        let missing: Vec<String> = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            wanted
                .iter()
                .filter(|i| match cache.get(*i) {
                    None => true,
                    Some(Cached::Failed { at, .. }) => at.elapsed() > RETRY_AFTER,
                    Some(Cached::Known(_)) => false,
                })
                .take(MAX_PER_PASS)
                .cloned()
                .collect()
        };
        let found = join_all(missing.iter().map(|i| self.look_up(i))).await;
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        for (image, result) in missing.into_iter().zip(found) {
            if let Err(why) = &result {
                tracing::info!(%image, %why, "could not read the image's config");
            }
            if cache.len() >= MAX_CACHED {
                evict(&mut cache);
            }
            let entry = match result {
                Ok(c) => Cached::Known(c),
                Err(why) => Cached::Failed {
                    why,
                    at: Instant::now(),
                },
            };
            cache.insert(image, entry);
        }
        for image in wanted {
            match cache.get(&image) {
                Some(Cached::Known(c)) => {
                    exec.entrypoints.insert(image, c.clone());
                }
                Some(Cached::Failed { why, .. }) => {
                    exec.unknown.insert(image, why.clone());
                }
                None => {}
            }
        }
        exec
    }

    async fn look_up(&self, image: &str) -> Result<ImageCommand, String> {
        let original: Reference = image.parse().map_err(|e| format!("not an image reference: {e}"))?;
        let reference = match &self.mirror {
            None => original,
            Some(host) => {
                let repository = format!("{}/{}", original.registry(), original.repository());
                match (original.digest(), original.tag()) {
                    (Some(d), _) => Reference::with_digest(host.clone(), repository, d.to_owned()),
                    (None, t) => Reference::with_tag(host.clone(), repository, t.unwrap_or("latest").to_owned()),
                }
            }
        };
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let pulled = client.pull_manifest_and_config(&reference, &RegistryAuth::Anonymous);
        let (_, _, config) = tokio::time::timeout(Duration::from_secs(20), pulled)
            .await
            .map_err(|_| "the registry did not answer within 20s".to_owned())?
            .map_err(|e| format!("reading the image config from {}: {e}", reference.resolve_registry()))?;
        parse_config(&config)
    }
}

/// ENTRYPOINT and CMD of an OCI or Docker image config.
fn parse_config(config: &str) -> Result<ImageCommand, String> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct Inner {
        entrypoint: Option<Vec<String>>,
        cmd: Option<Vec<String>>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Config {
        config: Inner,
    }
    let c: Config = serde_json::from_str(config).map_err(|e| format!("the image config is not JSON: {e}"))?;
    let command = ImageCommand {
        entrypoint: c.config.entrypoint.unwrap_or_default(),
        cmd: c.config.cmd.unwrap_or_default(),
    };
    if command.entrypoint.is_empty() && command.cmd.is_empty() {
        return Err("the image has neither ENTRYPOINT nor CMD".into());
    }
    Ok(command)
}

fn evict(cache: &mut HashMap<String, Cached>) {
    let victim = cache
        .iter()
        .find(|(_, c)| matches!(c, Cached::Failed { .. }))
        .or_else(|| cache.iter().next())
        .map(|(k, _)| k.clone());
    if let Some(k) = victim {
        cache.remove(&k);
    }
}

/// Images of the workflow's container templates (inline ones too) that
/// give no command, and whose name is not a `{{...}}` tag (known only once
/// substituted).
fn commandless_images(wf: &Workflow) -> Vec<String> {
    let default = wf.spec.template_defaults.as_ref().and_then(|d| d.container.as_ref());
    let mut out: BTreeMap<String, ()> = BTreeMap::new();
    let mut templates: Vec<&Template> = wf.spec.templates.iter().collect();
    // A loop, not recursion: inline templates nest as deep as a user likes.
    let mut i = 0;
    while let Some(t) = templates.get(i).copied() {
        i += 1;
        let calls =
            t.steps.iter().flatten().flatten().chain(t.dag.iter().flat_map(|d| d.tasks.iter().map(|t| &t.step)));
        templates.extend(calls.filter_map(|s| s.inline.as_deref()));
        let Some(c) = &t.container else { continue };
        let command = c.command.as_ref().or(default.and_then(|d| d.command.as_ref()));
        let image = c.image.as_deref().or(default.and_then(|d| d.image.as_deref()));
        if let Some(image) = image.filter(|i| !i.contains("{{"))
            && command.is_none_or(Vec::is_empty)
        {
            out.insert(image.to_owned(), ());
        }
    }
    out.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_give_entrypoint_and_cmd() {
        let c = parse_config(r#"{"architecture":"amd64","config":{"Entrypoint":["/argosay"],"Cmd":["echo"]}}"#);
        assert_eq!(
            c,
            Ok(ImageCommand {
                entrypoint: vec!["/argosay".into()],
                cmd: vec!["echo".into()]
            })
        );
        assert!(parse_config(r#"{"config":{}}"#).is_err());
        assert!(parse_config("garbage").is_err());
    }

    #[test]
    fn the_client_is_built_on_its_own_roots() {
        // As argo-service does at start; the in-cluster test runs it in the
        // FROM scratch image, which has no CA store.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let images = Images::new(Some("http://127.0.0.1:1"));
        assert!(images.client.is_ok(), "{:?}", images.client.err());
    }

    #[test]
    fn inline_templates_count_and_commands_or_tags_do_not() {
        let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, inline: {container: {image: "argoproj/argosay:v2"}}}
      - {name: b, inline: {steps: [[{name: c, inline: {container: {image: nginx}}}]]}}
  - name: given
    container: {image: alpine, command: [echo]}
  - name: tagged
    container: {image: "{{workflow.parameters.image}}"}
"#;
        let wf = argo_api::load::workflow(&serde_yaml::from_str(yaml).expect("yaml")).expect("workflow");
        assert_eq!(commandless_images(&wf), ["argoproj/argosay:v2", "nginx"]);
    }
}
