//! The executor's part of a pod. Outputs leave the pod through its
//! termination message, so a pod needs no sidecar and no API rights: an
//! init container copies `argo-exec` into a shared volume, and the main
//! container's command runs under it (it tees stdout, reads the output
//! parameters' files when the command ends and writes a bounded record).
//! Added after the project's pod rules have decided on the user's pod:
//! the init container is this project's, not the tenant's, and its names
//! are reserved (see `validate`).

use std::collections::BTreeMap;

use argo_exec::{MOUNT_DIR, PARAMETERS_ENV, PROGRAM};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, Pod, PodSpec, ResourceRequirements, SeccompProfile,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

/// The init container that installs `argo-exec`.
pub const INIT_CONTAINER: &str = "argo-init";
/// The volume it installs into.
pub const VOLUME: &str = "argo-exec";

/// How the controller wraps commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Executor {
    /// The image holding `/argo-exec`.
    pub image: String,
    /// What images used without a `command` run (upstream's `images:`
    /// setting, or their config from the registry): it must be known to
    /// run it under `argo-exec`.
    pub entrypoints: BTreeMap<String, ImageCommand>,
    /// Images whose config could not be read, and why.
    pub unknown: BTreeMap<String, String>,
}

/// An image's ENTRYPOINT and CMD.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageCommand {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
}

impl Default for Executor {
    fn default() -> Self {
        Executor {
            image: format!("ghcr.io/argo-rs/argo-exec:v{}", crate::VERSION),
            entrypoints: BTreeMap::new(),
            unknown: BTreeMap::new(),
        }
    }
}

impl Executor {
    /// What `image` runs when a container gives no command.
    pub fn entrypoint(&self, image: &str) -> Option<&ImageCommand> {
        let bare = image.strip_prefix("docker.io/").unwrap_or(image);
        let library = bare.strip_prefix("library/").unwrap_or(bare);
        [image, bare, library].into_iter().find_map(|i| self.entrypoints.get(i))
    }

    /// Runs `pod`'s main container under `argo-exec`, reading the output
    /// parameters `files` (name to path) when it ends. `Ok(false)` when it
    /// cannot be wrapped but need not be: no command, unknown entrypoint,
    /// no output parameters (the node then has no `result`).
    pub fn wrap(&self, pod: &mut Pod, files: &BTreeMap<String, String>) -> Result<bool, String> {
        let wrapped = self.wrap_spec(pod.spec.get_or_insert_with(Default::default), files)?;
        if wrapped {
            pod.metadata.labels.get_or_insert_with(Default::default).insert(LABEL.into(), "argo-exec".into());
        }
        Ok(wrapped)
    }

    fn wrap_spec(&self, pod: &mut PodSpec, files: &BTreeMap<String, String>) -> Result<bool, String> {
        let Some(main) = pod.containers.iter_mut().find(|c| c.name == "main") else {
            return Err("the pod has no main container".into());
        };
        let image = main.image.clone().unwrap_or_default();
        let command = match (&main.command, self.entrypoint(&image)) {
            (Some(c), _) if !c.is_empty() => c.clone(),
            // As the kubelet would run it: ENTRYPOINT, then args or CMD.
            (_, Some(known)) => {
                let mut full = known.entrypoint.clone();
                full.extend(main.args.take().unwrap_or_else(|| known.cmd.clone()));
                full
            }
            _ if files.is_empty() => return Ok(false),
            _ => {
                let why = self.unknown.get(&image).map(|w| format!(" ({w})")).unwrap_or_default();
                return Err(format!(
                    "output parameters are read by running the command under argo-exec, and the entrypoint of image \
                     {image} is not known{why}: give the container a `command`, or list the image in the controller's \
                     --image-command"
                ));
            }
        };
        let mut wrapped = vec![PROGRAM.to_owned(), "run".into(), "--".into()];
        wrapped.extend(command);
        main.command = Some(wrapped);
        main.volume_mounts.get_or_insert_with(Vec::new).push(VolumeMount {
            name: VOLUME.into(),
            mount_path: MOUNT_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        });
        let env = main.env.get_or_insert_with(Vec::new);
        if !files.is_empty() {
            let value = serde_json::to_string(files).map_err(|e| e.to_string())?;
            env.push(EnvVar {
                name: PARAMETERS_ENV.into(),
                value: Some(value),
                ..Default::default()
            });
        }
        if let Some(path) = main.termination_message_path.clone() {
            env.push(EnvVar {
                name: "ARGO_EXEC_TERMINATION_LOG".into(),
                value: Some(path),
                ..Default::default()
            });
        }
        main.termination_message_policy = Some("File".into());
        pod.volumes.get_or_insert_with(Vec::new).push(Volume {
            name: VOLUME.into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("32Mi".into())),
                ..Default::default()
            }),
            ..Default::default()
        });
        pod.init_containers.get_or_insert_with(Vec::new).insert(0, self.init_container());
        Ok(true)
    }

    /// Copies the program; restricted by Pod Security Standards, small.
    fn init_container(&self) -> Container {
        let quantities = |cpu: Option<&str>, memory: &str| {
            let mut m = BTreeMap::from([("memory".to_owned(), Quantity(memory.into()))]);
            if let Some(cpu) = cpu {
                m.insert("cpu".into(), Quantity(cpu.into()));
            }
            Some(m)
        };
        Container {
            name: INIT_CONTAINER.into(),
            image: Some(self.image.clone()),
            image_pull_policy: Some("IfNotPresent".into()),
            command: Some(vec!["/argo-exec".into(), "install".into(), PROGRAM.into()]),
            volume_mounts: Some(vec![VolumeMount {
                name: VOLUME.into(),
                mount_path: MOUNT_DIR.into(),
                ..Default::default()
            }]),
            resources: Some(ResourceRequirements {
                requests: quantities(Some("10m"), "16Mi"),
                limits: quantities(Some("100m"), "64Mi"),
                ..Default::default()
            }),
            security_context: Some(SecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(65532),
                allow_privilege_escalation: Some(false),
                read_only_root_filesystem: Some(true),
                capabilities: Some(Capabilities {
                    drop: Some(vec!["ALL".into()]),
                    ..Default::default()
                }),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// The label a wrapped pod carries: the controller keeps labels (not
/// specs) of the pods it watches, and only then is the main container's
/// termination message an outputs record.
pub const LABEL: &str = "workflows.argoproj.io/executor";

/// Whether `pod` runs its main container under `argo-exec`.
pub fn is_wrapped(pod: &Pod) -> bool {
    pod.metadata.labels.as_ref().and_then(|l| l.get(LABEL)).map(String::as_str) == Some("argo-exec")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(command: Option<&[&str]>, image: &str) -> Pod {
        let spec = PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: Some(image.into()),
                command: command.map(|c| c.iter().map(|s| s.to_string()).collect()),
                args: Some(vec!["hello".into()]),
                ..Default::default()
            }],
            init_containers: Some(vec![Container {
                name: "user-init".into(),
                ..Default::default()
            }]),
            ..Default::default()
        };
        Pod {
            spec: Some(spec),
            ..Default::default()
        }
    }

    #[test]
    fn the_command_runs_under_argo_exec_installed_first() {
        let mut pod = pod(Some(&["echo"]), "alpine:3.23");
        let files = BTreeMap::from([("p".to_owned(), "/tmp/p".to_owned())]);
        assert_eq!(Executor::default().wrap(&mut pod, &files), Ok(true));
        assert!(is_wrapped(&pod));
        let p = pod.spec.expect("spec");
        let main = &p.containers[0];
        assert_eq!(main.command.as_deref().map(|c| c.join(" ")), Some(format!("{PROGRAM} run -- echo")));
        assert_eq!(main.args.as_deref(), Some(&["hello".to_owned()][..]), "args stay args");
        let env = main.env.as_deref().unwrap_or_default();
        assert!(env.iter().any(|e| e.name == PARAMETERS_ENV && e.value.as_deref() == Some(r#"{"p":"/tmp/p"}"#)));
        let inits: Vec<_> = p.init_containers.iter().flatten().map(|c| c.name.as_str()).collect();
        assert_eq!(inits, [INIT_CONTAINER, "user-init"], "installed before anything of the user runs");
    }

    #[test]
    fn an_image_without_command_uses_its_known_entrypoint_or_stays_as_it_is() {
        let argosay = ImageCommand {
            entrypoint: vec!["/argosay".to_owned()],
            cmd: vec!["echo".to_owned()],
        };
        let exec = Executor {
            entrypoints: BTreeMap::from([("argoproj/argosay:v2".to_owned(), argosay)]),
            ..Default::default()
        };
        let mut p = pod(None, "docker.io/argoproj/argosay:v2");
        assert_eq!(exec.wrap(&mut p, &BTreeMap::new()), Ok(true));
        let main = p.spec.as_ref().map(|s| s.containers[0].clone()).unwrap_or_default();
        assert_eq!(main.command.unwrap_or_default()[3..], ["/argosay", "hello"], "ENTRYPOINT, then the args");
        assert_eq!(main.args, None);
        let mut p = pod(None, "argoproj/argosay:v2");
        if let Some(s) = p.spec.as_mut() {
            s.containers[0].args = None;
        }
        assert_eq!(exec.wrap(&mut p, &BTreeMap::new()), Ok(true));
        let main = p.spec.as_ref().map(|s| s.containers[0].clone()).unwrap_or_default();
        assert_eq!(main.command.unwrap_or_default()[3..], ["/argosay", "echo"], "ENTRYPOINT, then CMD");

        let mut p = pod(None, "nginx:1.13");
        assert_eq!(exec.wrap(&mut p, &BTreeMap::new()), Ok(false));
        assert!(!is_wrapped(&p) && p.spec.as_ref().and_then(|s| s.init_containers.as_ref()).map(Vec::len) == Some(1));

        let files = BTreeMap::from([("p".to_owned(), "/tmp/p".to_owned())]);
        let err = exec.wrap(&mut p, &files).expect_err("outputs need the command");
        assert!(err.contains("entrypoint of image nginx:1.13 is not known"), "{err}");
    }
}
