//! Outputs, for real on the real node: the pod's own `argo-exec` reports
//! stdout and files through the termination message (no sidecar, no API
//! rights for the pod), an image's entrypoint comes from the local
//! registry, and each limit ends in a clear node message.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use argo_api::workflow::{NodeStatus, Phase};
use e2e::run_ok;
use e2e::workflows::{nodes, pods, submit, wait_finished};

fn by_display(wf: &argo_api::Workflow, display: &str) -> Result<NodeStatus> {
    nodes(wf)
        .into_values()
        .find(|n| n.display_name == display)
        .with_context(|| format!("no node {display}"))
}

fn param(n: &NodeStatus, name: &str) -> Option<String> {
    n.outputs
        .as_ref()?
        .parameters
        .iter()
        .find(|p| p.name == name)?
        .value
        .as_ref()
        .map(|v| v.as_str().to_owned())
}

#[tokio::test]
async fn results_files_and_registry_entrypoints_flow_between_steps() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("outputs").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: flow}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: gen, template: gen}
      - {name: say, template: say}
    - - name: use
        template: print
        arguments:
          parameters:
          - {name: msg, value: "{{steps.gen.outputs.result}}|{{steps.gen.outputs.parameters.file}}|{{steps.say.outputs.parameters.said}}|{{steps.gen.exitCode}}"}
  - name: gen
    outputs:
      parameters: [{name: file, valueFrom: {path: /tmp/out.txt}}]
    script:
      image: alpine:3.23
      command: [sh]
      source: |
        printf 'from a file\n' > /tmp/out.txt
        echo line one
        echo line two
  # argosay has no command here: its ENTRYPOINT comes from the registry.
  - name: say
    outputs:
      parameters: [{name: said, valueFrom: {path: /tmp/said}}]
    container:
      image: argoproj/argosay:v2
      args: [echo, "argosay spoke", /tmp/said]
  - name: print
    inputs: {parameters: [{name: msg}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.msg}}"]}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(120)).await?;
    let status = wf.status.as_ref().context("status")?;
    ensure!(status.phase == Some(Phase::Succeeded), "{:#?}", status.nodes);
    let gen_node = by_display(&wf, "gen")?;
    assert_eq!(gen_node.outputs.as_ref().and_then(|o| o.result.as_deref()), Some("line one\nline two"));
    assert_eq!(param(&gen_node, "file").as_deref(), Some("from a file"));
    assert_eq!(param(&by_display(&wf, "say")?, "said").as_deref(), Some("argosay spoke"));
    let used = by_display(&wf, "use")?;
    assert_eq!(
        used.outputs.as_ref().and_then(|o| o.result.as_deref()),
        Some("line one\nline two|from a file|argosay spoke|0")
    );

    // One container, one init container of ours, and no API rights.
    for pod in pods(c, &ns, &name).await? {
        let spec = pod.spec.context("spec")?;
        assert_eq!(spec.containers.len(), 1, "no sidecar");
        let inits: Vec<_> = spec.init_containers.iter().flatten().map(|c| c.name.clone()).collect();
        assert_eq!(inits, ["argo-init"]);
        assert_eq!(spec.service_account_name.as_deref(), Some("default"));
    }
    let can = cluster
        .kubectl()
        .args(["auth", "can-i", "create", "workflowtaskresults.argoproj.io"])
        .args(["--as", &format!("system:serviceaccount:{ns}:default"), "-n", &ns])
        .output()?;
    assert_eq!(String::from_utf8_lossy(&can.stdout).trim(), "no", "the pods' account needs no rights");

    // kubectl argo get lists them under the tree.
    let get = run_ok(cluster.kubectl().args(["argo", "get", &name, "-n", &ns]))?;
    ensure!(get.contains("OUTPUTS:") && get.contains("argosay spoke"), "{get}");
    Ok(())
}

#[tokio::test]
async fn missing_and_too_large_outputs_say_what_and_where() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("outputs-limits").await?;
    let c = &cluster.client;
    let name = submit(
        c,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: limits}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: missing, template: missing, continueOn: {error: true}}
      - {name: big-file, template: big-file, continueOn: {error: true}}
      - {name: big-stdout, template: big-stdout}
      - {name: fails, template: fails, continueOn: {failed: true}}
  - name: missing
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/nope}}]}
    container: {image: busybox, command: ["true"]}
  - name: big-file
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/big}}]}
    container: {image: busybox, command: [sh, -c, "head -c 10000 /dev/zero | tr '\\0' x > /tmp/big"]}
  - name: big-stdout
    container: {image: busybox, command: [sh, -c, "head -c 100000 /dev/zero | tr '\\0' y"]}
  - name: fails
    outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
    container: {image: busybox, command: [sh, -c, "echo partial > /tmp/p; echo bye; exit 3"]}
"#,
    )
    .await?;
    let wf = wait_finished(c, &ns, &name, Duration::from_secs(120)).await?;
    let missing = by_display(&wf, "missing")?;
    assert_eq!(missing.phase, Phase::Error);
    assert_eq!(missing.message.as_deref(), Some(r#"output parameter "p": /tmp/nope: no such file, and no default"#));
    let big = by_display(&wf, "big-file")?;
    assert_eq!(big.phase, Phase::Error);
    ensure!(big.message.as_deref().is_some_and(|m| m.contains("10000 bytes") && m.contains("4 KiB")), "{big:?}");
    let stdout = by_display(&wf, "big-stdout")?;
    assert_eq!(stdout.phase, Phase::Succeeded, "a result too large to keep is said, not fatal");
    ensure!(stdout.message.as_deref().is_some_and(|m| m.contains("100000 bytes")), "{stdout:?}");
    let fails = by_display(&wf, "fails")?;
    assert_eq!(fails.phase, Phase::Failed);
    let outputs = fails.outputs.as_ref().context("a failed step keeps what it reported")?;
    assert_eq!((outputs.exit_code.as_deref(), outputs.result.as_deref()), (Some("3"), Some("bye")));
    assert_eq!(param(&fails, "p").as_deref(), Some("partial"));
    // The log is the whole output: argo-exec only tees it.
    let logs = run_ok(cluster.kubectl().args(["argo", "logs", &name, "-n", &ns]))?;
    ensure!(logs.matches('y').count() >= 100_000, "the log holds all of big-stdout's output");
    Ok(())
}
