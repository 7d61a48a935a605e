//! Command-line arguments of `argo-controller`.

use clap::Parser;

#[derive(Clone, Debug, Parser)]
#[command(name = "argo-controller", version = argo_api::VERSION, about = "Runs Argo-compatible Workflows as Pods")]
pub struct Args {
    #[command(flatten)]
    pub service: argo_service::Flags,
    /// Only run workflows in this namespace (default: all namespaces)
    #[arg(long, short = 'n')]
    pub namespace: Option<String>,
    /// Plain-HTTP address for /healthz, /readyz and /metrics
    #[arg(long, default_value = "0.0.0.0:9090", env = "ARGO_CONTROLLER_ADMIN_ADDRESS")]
    pub admin_address: String,
    /// Workflows reconciled at once
    #[arg(long, default_value_t = 32)]
    pub workers: u16,
    /// Pod creations in flight at once
    #[arg(long, default_value_t = 64)]
    pub pod_create_concurrency: usize,
    /// Wait this long after a change to batch the next ones (milliseconds)
    #[arg(long, default_value_t = 0)]
    pub debounce_ms: u64,
    /// Elect one active replica through a Lease (disable for a single replica)
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_elect: bool,
    #[arg(long, default_value = "argo-controller")]
    pub lease_name: String,
    #[arg(long, default_value = "argo", env = "ARGO_CONTROLLER_NAMESPACE")]
    pub lease_namespace: String,
    /// This replica's name in the Lease (default: $POD_NAME, else hostname-pid)
    #[arg(long, env = "POD_NAME")]
    pub id: Option<String>,
    /// The image whose `/argo-exec` runs each pod's command and reports its
    /// outputs (installed by an init container)
    #[arg(long, default_value_t = argo_api::executor::Executor::default().image, env = "ARGO_EXEC_IMAGE")]
    pub executor_image: String,
    /// The entrypoint of an image used without `command`, as IMAGE=PATH or
    /// IMAGE=["PATH","ARG"...] (upstream's `images:` setting); repeatable
    #[arg(long = "image-command", value_name = "IMAGE=COMMAND", value_parser = parse_image_command)]
    pub image_commands: Vec<(String, Vec<String>)>,
    /// Read image configs through this registry, as MIRROR/<registry>/<repository>
    /// (e.g. http://127.0.0.1:35000 for the local cluster's)
    #[arg(long, env = "ARGO_REGISTRY_MIRROR")]
    pub registry_mirror: Option<String>,
    /// How long a pod may fail to pull an image (ErrImagePull,
    /// ImagePullBackOff) before its node fails with the kubelet's reason;
    /// 0 waits as long as the workflow's deadline lets it
    #[arg(long, default_value = "3m", value_parser = parse_duration, env = "ARGO_IMAGE_PULL_TIMEOUT")]
    pub image_pull_timeout: std::time::Duration,
    /// For tests of the panic guard only: a reconcile panics on purpose
    /// when its workflow carries the annotation `argo-rs.test/panic`.
    #[arg(long, hide = true)]
    pub test_panic_annotation: bool,
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    argo_api::duration::parse(s).map_err(|e| format!("not a duration such as 90s or 3m: {e}"))
}

fn parse_image_command(s: &str) -> Result<(String, Vec<String>), String> {
    let (image, command) = s.split_once('=').ok_or("expected IMAGE=COMMAND")?;
    let command = if command.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<String>>(command)
            .map_err(|e| format!("the command is not a JSON list of strings: {e}"))?
    } else {
        vec![command.to_owned()]
    };
    if image.is_empty() || command.first().is_none_or(String::is_empty) {
        return Err("expected IMAGE=COMMAND with neither empty".into());
    }
    Ok((image.to_owned(), command))
}

impl Args {
    pub fn executor(&self) -> argo_api::executor::Executor {
        let command = |entrypoint: &Vec<String>| argo_api::executor::ImageCommand {
            entrypoint: entrypoint.clone(),
            cmd: vec![],
        };
        argo_api::executor::Executor {
            image: self.executor_image.clone(),
            entrypoints: self.image_commands.iter().map(|(i, e)| (i.clone(), command(e))).collect(),
            unknown: Default::default(),
        }
    }

    pub fn identity(&self) -> String {
        self.id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
            format!("{}-{}", host.trim(), std::process::id())
        })
    }
}
