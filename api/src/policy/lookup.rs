//! Which registries the controller may contact for a project's images:
//! reading an image's configuration (to run a command-less image under
//! argo-exec) connects wherever the image's name points, so a tenant could
//! otherwise aim the controller at the apiserver, etcd, the webhook or a
//! cloud's metadata address.

use std::net::IpAddr;

use super::globs::Globs;
use crate::WorkflowProject;

/// Cluster-internal name suffixes the default rule refuses.
const INTERNAL: [&str; 4] = [".svc", ".cluster.local", ".local", ".internal"];

/// Ok when `project` lets the controller read `image`'s configuration
/// from its registry; else why not.
pub fn may_look_up(project: &WorkflowProject, image: &str) -> Result<(), String> {
    let parsed = crate::image::parse(image)?;
    let registry = parsed.registry.as_str();
    let name = project.metadata.name.as_deref().unwrap_or_default();
    let list = &project.spec.lookup_registries;
    if !list.is_empty() {
        return if Globs::new(list).allows(registry) {
            Ok(())
        } else {
            Err(format!(
                "project {name:?} does not let the controller read image configs from {registry} (lookupRegistries: {})",
                list.join(", ")
            ))
        };
    }
    let host = host_of(registry);
    let internal = host == "localhost"
        || host.parse::<IpAddr>().is_ok()
        || !host.contains('.')
        || INTERNAL.iter().any(|s| host.ends_with(s));
    if internal {
        return Err(format!(
            "{registry} is an address or cluster name, which the controller does not contact for project {name:?} unless its lookupRegistries lists it"
        ));
    }
    Ok(())
}

/// `host` of `host:port` or `[v6]:port`, lowercased.
fn host_of(registry: &str) -> String {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None if registry.matches(':').count() > 1 => registry,
        None => registry.split(':').next().unwrap_or(registry),
    };
    host.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(list: &[&str]) -> WorkflowProject {
        let spec = crate::WorkflowProjectSpec {
            lookup_registries: list.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        WorkflowProject::new("p", spec)
    }

    #[test]
    fn by_default_only_public_names_are_contacted() {
        let p = project(&[]);
        for ok in [
            "argoproj/argosay:v2",
            "ghcr.io/acme/tool:1",
            "registry.example.com:5000/x:1",
        ] {
            assert_eq!(may_look_up(&p, ok), Ok(()), "{ok}");
        }
        for bad in [
            "10.96.0.1:443/x:1",
            "127.0.0.1:2379/etcd:1",
            "169.254.169.254/latest:1",
            "[fd00::1]:443/x:1",
            "localhost:5000/x:1",
            "argo-webhook.argo.svc:443/x:1",
            "kubernetes.default.svc.cluster.local/x:1",
            "metadata.google.internal/x:1",
            "registry:5000/x:1",
        ] {
            let why = may_look_up(&p, bad).expect_err(bad);
            assert!(why.contains("lookupRegistries"), "{why}");
        }
    }

    #[test]
    fn a_project_list_decides_alone() {
        let p = project(&["docker.io", "127.0.0.1:35000", "*.corp.example", "!evil.corp.example"]);
        assert_eq!(may_look_up(&p, "argoproj/argosay:v2"), Ok(()));
        assert_eq!(may_look_up(&p, "127.0.0.1:35000/x:1"), Ok(()));
        assert_eq!(may_look_up(&p, "r.corp.example/x:1"), Ok(()));
        assert!(may_look_up(&p, "evil.corp.example/x:1").is_err());
        assert!(may_look_up(&p, "ghcr.io/x:1").unwrap_err().contains("does not let the controller"));
    }
}
