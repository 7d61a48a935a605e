//! Helpers for end-to-end tests against the local cluster started by
//! `tests/cluster/up`. Nothing here fakes the cluster: without one every
//! test fails with a message saying how to start it.

pub mod admission;
pub mod browser;
pub mod outputs;
pub mod process;
pub mod webhook;
pub mod workflows;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::wait::{await_condition, conditions};
use kube::{Client, Config};
use tokio::sync::OnceCell;

/// The toleration of the kwok nodes' taint: a pod with it may land on a
/// kwok node and is simulated there (tests/cluster/REAL-NODE.md).
/// JSON, so YAML too.
pub const KWOK_TOLERATION: &str = r#"{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}"#;

/// The repository root, for manifests and fixtures.
/// The real node's registry (tests/cluster/lib.sh).
pub fn registry() -> String {
    let port = std::env::var("ARGO_RS_REGISTRY_PORT").unwrap_or_else(|_| "35000".into());
    format!("127.0.0.1:{port}")
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The local cluster, as the tests see it.
pub struct Cluster {
    pub client: Client,
    pub kubeconfig: PathBuf,
    /// Where `kubectl`, `kwok` and `kubectl-krew` live.
    pub cluster_bin: PathBuf,
    /// Where this workspace's binaries (`kubectl-argo`...) were built.
    pub project_bin: PathBuf,
}

fn env_path(name: &str) -> Result<PathBuf> {
    std::env::var_os(name).map(PathBuf::from).with_context(|| {
        format!("{name} is not set: run the end-to-end tests with tests/run, which starts the local cluster")
    })
}

impl Cluster {
    /// Connects to the cluster named by `ARGO_RS_KUBECONFIG` and makes sure
    /// this project's CRDs are installed.
    pub async fn connect() -> Result<Cluster> {
        let kubeconfig = env_path("ARGO_RS_KUBECONFIG")?;
        let cluster_bin = env_path("ARGO_RS_CLUSTER_BIN")?;
        let project_bin = match std::env::var_os("ARGO_RS_PROJECT_BIN") {
            Some(p) => PathBuf::from(p),
            None => repo_root().join("target/debug"),
        };
        let kc = Kubeconfig::read_from(&kubeconfig).with_context(|| format!("reading {}", kubeconfig.display()))?;
        let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default()).await?;
        let client = Client::try_from(config)?;
        let cluster = Cluster {
            client,
            kubeconfig,
            cluster_bin,
            project_bin,
        };
        static CRDS: OnceCell<()> = OnceCell::const_new();
        CRDS.get_or_try_init(|| cluster.install_crds()).await?;
        Ok(cluster)
    }

    async fn install_crds(&self) -> Result<()> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let pp = PatchParams::apply("argo-rs-e2e").force();
        for (_, crd) in argo_api::crd::all() {
            let name = crd.metadata.name.clone().context("CRD has a name")?;
            api.patch(&name, &pp, &Patch::Apply(&crd)).await.with_context(|| format!("applying CRD {name}"))?;
            tokio::time::timeout(
                Duration::from_secs(30),
                await_condition(api.clone(), &name, conditions::is_crd_established()),
            )
            .await
            .with_context(|| format!("CRD {name} not established after 30s"))??;
        }
        Ok(())
    }

    /// A fresh namespace `e2e-<prefix>-<n>` whose pods run on the kwok
    /// nodes (simulated: see `KWOK_TOLERATION`), with its default service
    /// account, so pods can be created in it at once.
    /// The namespace comes with a WorkflowProject of its own that allows
    /// everything (the controller creates no pod without a project), so
    /// tests of other behaviour do not depend on policy.
    pub async fn namespace(&self, prefix: &str) -> Result<String> {
        let ns = self.namespace_labelled(prefix, &[]).await?;
        self.project(&ns, serde_json::json!({"namespaces": [ns], "security": {"level": "privileged"}}))
            .await?;
        Ok(ns)
    }

    /// Like `namespace`, but its pods run for real on the real node
    /// (`real-0`): real images, commands, exit codes and logs.
    pub async fn real_namespace(&self, prefix: &str) -> Result<String> {
        let ns = self.create_namespace(prefix, &[], false).await?;
        self.project(&ns, serde_json::json!({"namespaces": [ns], "security": {"level": "privileged"}}))
            .await?;
        Ok(ns)
    }

    /// Creates (or replaces) the WorkflowProject `name` with `spec`.
    pub async fn project(&self, name: &str, spec: serde_json::Value) -> Result<()> {
        let project: argo_api::WorkflowProject = serde_json::from_value(serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": name}, "spec": spec
        }))?;
        let api: Api<argo_api::WorkflowProject> = Api::all(self.client.clone());
        api.patch(name, &PatchParams::apply("argo-rs-e2e").force(), &Patch::Apply(&project))
            .await
            .with_context(|| format!("applying WorkflowProject {name}"))?;
        Ok(())
    }

    /// Like `namespace`, with labels (e.g. to put it in a webhook's scope),
    /// and no project.
    pub async fn namespace_labelled(&self, prefix: &str, labels: &[(&str, &str)]) -> Result<String> {
        self.create_namespace(prefix, labels, true).await
    }

    async fn create_namespace(&self, prefix: &str, labels: &[(&str, &str)], simulated: bool) -> Result<String> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let mut ns = Namespace::default();
        ns.metadata.generate_name = Some(format!("e2e-{prefix}-"));
        ns.metadata.labels = Some(labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        if simulated {
            // The apiserver's PodTolerationRestriction adds it to every pod.
            let tolerations = format!("[{KWOK_TOLERATION}]");
            ns.metadata.annotations =
                Some([("scheduler.alpha.kubernetes.io/defaultTolerations".to_owned(), tolerations)].into());
        }
        let created = api.create(&PostParams::default(), &ns).await?;
        let name = created.metadata.name.context("namespace has a name")?;
        let sa: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &name);
        for _ in 0..120 {
            if sa.get_opt("default").await?.is_some() {
                return Ok(name);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        bail!("namespace {name} got no default service account in 30s")
    }

    /// `kubectl` against the cluster, with this project's binaries on PATH
    /// so that `kubectl argo` finds `kubectl-argo`.
    pub fn kubectl(&self) -> Command {
        let mut cmd = Command::new(self.cluster_bin.join("kubectl"));
        cmd.env("KUBECONFIG", &self.kubeconfig).env("PATH", self.path_env()).env("NO_COLOR", "1");
        cmd
    }

    /// A PATH holding just what a user of the plugin would have: the
    /// plugin, kubectl, krew, and the system directories. (The cargo target
    /// directory itself holds `kubectl-argo.d`, which kubectl would flag.)
    pub fn path_env(&self) -> std::ffi::OsString {
        let plugins = self.project_bin.join("plugin-path");
        let link = plugins.join("kubectl-argo");
        if !link.exists() {
            std::fs::create_dir_all(&plugins).expect("create plugin-path directory");
            // Another test may have made it first.
            let _ = std::os::unix::fs::symlink(self.project_bin.join("kubectl-argo"), &link);
        }
        let paths = [plugins, self.cluster_bin.clone(), "/usr/bin".into(), "/bin".into()];
        std::env::join_paths(paths).expect("PATH entries contain no separator")
    }
}

impl Cluster {
    /// Where tests/cluster keeps the cluster's state (pids, logs).
    pub fn state_dir(&self) -> PathBuf {
        self.kubeconfig.parent().map(Path::to_owned).unwrap_or_default()
    }

    /// Kills one process of the local cluster (`etcd`, `kube-apiserver`...)
    /// with SIGKILL, as a crash would.
    pub fn kill_component(&self, name: &str) -> Result<()> {
        let pid_file = self.state_dir().join("pids").join(format!("{name}.pid"));
        let pid = std::fs::read_to_string(&pid_file).with_context(|| format!("reading {}", pid_file.display()))?;
        run_ok(Command::new("kill").args(["-KILL", pid.trim()]))?;
        Ok(())
    }

    /// Kills one process of the real node (`containerd`, `kubelet`,
    /// `kube-proxy`, `registry`) with SIGKILL.
    pub fn kill_node_component(&self, name: &str) -> Result<()> {
        let pid_file = self.state_dir().join("node/pids").join(format!("{name}.pid"));
        let pid = std::fs::read_to_string(&pid_file).with_context(|| format!("reading {}", pid_file.display()))?;
        run_ok(Command::new("kill").args(["-KILL", pid.trim()]))?;
        Ok(())
    }

    /// Runs tests/cluster/up again, which starts whatever is not running
    /// and waits until the cluster is ready. The ports come from the
    /// environment tests/run sets.
    pub fn start_missing(&self) -> Result<String> {
        for var in ["ARGO_RS_ETCD_PORT", "ARGO_RS_APISERVER_PORT", "ARGO_RS_KWOK_PORT"] {
            if std::env::var_os(var).is_none() {
                bail!("{var} is not set: restarting the cluster needs the ports tests/run exports");
            }
        }
        let out = run(Command::new(repo_root().join("tests/cluster/up")).env("ARGO_RS_CLUSTER_DIR", self.state_dir()))?;
        let progress = String::from_utf8_lossy(&out.stderr).into_owned();
        if !out.status.success() {
            bail!("tests/cluster/up failed ({}):\n{progress}", out.status);
        }
        Ok(progress)
    }
}

/// Runs a command with `input` on its stdin.
pub fn run_with_input(cmd: &mut Command, input: &str) -> Result<Output> {
    use std::io::Write;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("could not run {cmd:?}"))?;
    child.stdin.take().context("stdin")?.write_all(input.as_bytes())?;
    Ok(child.wait_with_output()?)
}

/// Runs a command and fails with its output when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> Result<String> {
    let out = run(cmd)?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}):\nstdout: {}\nstderr: {}",
            cmd,
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}

pub fn run(cmd: &mut Command) -> Result<Output> {
    cmd.output().with_context(|| format!("could not run {cmd:?}"))
}

/// Polls `f` every 200 ms until it returns `Some`, or fails after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
