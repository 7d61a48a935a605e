//! `kubectl argo version`: no cluster, no async runtime, so it starts fast.

use std::io::Write;
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{VersionArgs, VersionFormat};
use crate::error::Result;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Version {
    version: String,
    platform: String,
    api_version: &'static str,
}

fn current() -> Version {
    Version {
        version: format!("v{}", argo_api::VERSION),
        platform: format!("{}/{}", std::env::consts::OS, go_arch()),
        api_version: argo_api::API_VERSION,
    }
}

/// Architecture names as kubectl and krew spell them.
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

pub fn run(args: &VersionArgs, out: &mut impl Write) -> Result<ExitCode> {
    let v = current();
    match (args.output, args.short) {
        (Some(VersionFormat::Json), _) => writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?,
        (Some(VersionFormat::Yaml), _) => write!(out, "{}", serde_yaml::to_string(&v)?)?,
        (None, true) => writeln!(out, "kubectl-argo: {}", v.version)?,
        (None, false) => {
            writeln!(out, "kubectl-argo: {}", v.version)?;
            writeln!(out, "  Platform: {}", v.platform)?;
            writeln!(out, "  API: {} (Workflow, WorkflowProject)", v.api_version)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(short: bool, output: Option<VersionFormat>) -> String {
        let mut buf = Vec::new();
        run(&VersionArgs { short, output }, &mut buf).expect("writes");
        String::from_utf8(buf).expect("utf8")
    }

    #[test]
    fn short_prints_one_line() {
        assert_eq!(render(true, None), format!("kubectl-argo: v{}\n", argo_api::VERSION));
    }

    #[test]
    fn json_is_machine_readable() {
        let v: serde_json::Value = serde_json::from_str(&render(false, Some(VersionFormat::Json))).expect("json");
        assert_eq!(v["version"], format!("v{}", argo_api::VERSION));
        assert_eq!(v["apiVersion"], "argoproj.io/v1alpha1");
    }
}
