//! The Kubernetes Pod Security Standards (baseline and restricted), checked
//! on a rendered pod as Kubernetes 1.36's Pod Security Admission checks
//! them (k8s.io/pod-security-admission v0.36, `policy/check_*.go`; an
//! end-to-end test holds the two to the same answers). A project's
//! exceptions (`allowPrivileged`, `allowHostNamespaces`, `allowHostPath`)
//! each relax one baseline rule.

use k8s_openapi::api::core::v1::{PodSecurityContext, PodSpec, SeccompProfile, SecurityContext};

use super::pods::{ContainerView, Rules};
use crate::Problem;
use crate::project::SecurityLevel;

/// Capabilities baseline lets a container add.
const BASELINE_CAPABILITIES: [&str; 13] = [
    "AUDIT_WRITE",
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "MKNOD",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];
/// Sysctls baseline allows (namespaced and safe).
const SAFE_SYSCTLS: [&str; 12] = [
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "net.ipv4.tcp_rmem",
    "net.ipv4.tcp_wmem",
];
const SELINUX_TYPES: [&str; 4] = [
    "container_t",
    "container_init_t",
    "container_kvm_t",
    "container_engine_t",
];
/// Volume types restricted allows.
const RESTRICTED_VOLUMES: [&str; 9] = [
    "configMap",
    "csi",
    "downwardAPI",
    "emptyDir",
    "ephemeral",
    "image",
    "persistentVolumeClaim",
    "projected",
    "secret",
];
const APPARMOR_ANNOTATION: &str = "container.apparmor.security.beta.kubernetes.io/";

struct Check<'r, 'o> {
    rules: &'r Rules<'r>,
    level: SecurityLevel,
    out: &'o mut Vec<Problem>,
}

impl Check<'_, '_> {
    fn refuse(&mut self, path: impl Into<String>, what: &str) {
        let message = format!(
            "{what}: not allowed by project {:?} (Pod Security Standards level {})",
            self.rules.name,
            self.level.as_str()
        );
        self.out.push(Problem::new(path, message));
    }

    fn allowed(&self, exception: impl Fn(&crate::project::SecurityPolicy) -> Option<bool>) -> bool {
        self.rules.project.spec.security.as_ref().and_then(exception) == Some(true)
    }

    fn skip(&self, value: &str) -> bool {
        self.rules.tags.skips(value)
    }
}

pub(crate) fn check(
    pod: &k8s_openapi::api::core::v1::Pod,
    spec: &PodSpec,
    containers: &[ContainerView],
    rules: &Rules,
    out: &mut Vec<Problem>,
) {
    let level = rules.level();
    if level == SecurityLevel::Privileged {
        return;
    }
    let pod_kind = PodKind {
        // hostUsers: false runs the pod in a user namespace: root in it is
        // no one on the node, so some rules relax (PSA 1.35+).
        user_namespace: spec.host_users == Some(false),
        windows: spec.os.as_ref().is_some_and(|o| o.name == "windows"),
    };
    let mut c = Check { rules, level, out };
    host(&mut c, spec, containers);
    volumes(&mut c, spec);
    let pod_sc = spec.security_context.as_ref();
    if let Some(sc) = pod_sc {
        pod_context(&mut c, sc, pod_kind);
    }
    for ctr in containers {
        if let Some(sc) = ctr.security {
            container_context(&mut c, &ctr.path, sc, pod_kind);
        }
        probe_hosts(&mut c, ctr);
    }
    apparmor_annotations(&mut c, pod);
    if level == SecurityLevel::Restricted {
        restricted(&mut c, pod_sc, containers, pod_kind);
    }
}

/// What about a pod relaxes some rules.
#[derive(Clone, Copy)]
struct PodKind {
    user_namespace: bool,
    windows: bool,
}

/// Probes and lifecycle handlers are sent from the node: a `host` other
/// than the pod's own would point the kubelet at any address (baseline,
/// PSA 1.34+).
fn probe_hosts(c: &mut Check, ctr: &ContainerView) {
    let mut targets: Vec<(String, Option<&str>)> = Vec::new();
    for (name, probe) in ctr.probes {
        let Some(p) = probe else { continue };
        targets.push((format!("{name}.httpGet.host"), p.http_get.as_ref().and_then(|h| h.host.as_deref())));
        targets.push((format!("{name}.tcpSocket.host"), p.tcp_socket.as_ref().and_then(|t| t.host.as_deref())));
    }
    for (name, handler) in ctr.lifecycle.iter().flat_map(|l| [("postStart", &l.post_start), ("preStop", &l.pre_stop)]) {
        let Some(h) = handler else { continue };
        targets.push((format!("lifecycle.{name}.httpGet.host"), h.http_get.as_ref().and_then(|g| g.host.as_deref())));
        targets
            .push((format!("lifecycle.{name}.tcpSocket.host"), h.tcp_socket.as_ref().and_then(|t| t.host.as_deref())));
    }
    for (field, host) in targets {
        if let Some(host) = host.filter(|h| !h.is_empty() && !c.skip(h)) {
            c.refuse(
                format!("{}.{field}", ctr.path),
                &format!(
                    "a probe or lifecycle handler sent to host {host:?} (the kubelet would call it from the node)"
                ),
            );
        }
    }
}

fn host(c: &mut Check, spec: &PodSpec, containers: &[ContainerView]) {
    let host_ok = c.allowed(|s| s.allow_host_namespaces);
    for (field, on) in [
        ("hostNetwork", spec.host_network),
        ("hostPID", spec.host_pid),
        ("hostIPC", spec.host_ipc),
    ] {
        if on == Some(true) && !host_ok {
            c.refuse(format!("spec.{field}"), &format!("{field} shares the node's namespace"));
        }
    }
    if host_ok {
        return;
    }
    for ctr in containers {
        for (i, p) in ctr.ports.iter().enumerate() {
            if p.host_port.is_some_and(|h| h != 0) {
                c.refuse(format!("{}.ports[{i}].hostPort", ctr.path), "hostPort binds a port of the node");
            }
        }
    }
}

fn volumes(c: &mut Check, spec: &PodSpec) {
    let host_path_ok = c.allowed(|s| s.allow_host_path);
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let path = format!("spec.volumes[{i}]");
        if v.host_path.is_some() {
            if !host_path_ok {
                c.refuse(format!("{path}.hostPath"), &format!("hostPath volume {:?} mounts the node's files", v.name));
            }
            continue;
        }
        if c.level != SecurityLevel::Restricted {
            continue;
        }
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(v) else {
            continue;
        };
        for kind in fields.keys().filter(|k| k.as_str() != "name") {
            if !RESTRICTED_VOLUMES.contains(&kind.as_str()) {
                c.refuse(
                    format!("{path}.{kind}"),
                    &format!("{kind} volumes (only {} are)", RESTRICTED_VOLUMES.join(", ")),
                );
            }
        }
    }
}

fn pod_context(c: &mut Check, sc: &PodSecurityContext, kind: PodKind) {
    let path = "spec.securityContext";
    if sc.windows_options.as_ref().and_then(|w| w.host_process) == Some(true) {
        c.refuse(format!("{path}.windowsOptions.hostProcess"), "Windows HostProcess pods");
    }
    if let Some(se) = &sc.se_linux_options {
        selinux(c, path, se);
    }
    if let Some(p) = &sc.seccomp_profile {
        seccomp(c, path, p);
    }
    if let Some(a) = &sc.app_armor_profile {
        apparmor(c, path, &a.type_);
    }
    for (i, s) in sc.sysctls.iter().flatten().enumerate() {
        if !c.skip(&s.name) && !SAFE_SYSCTLS.contains(&s.name.as_str()) {
            c.refuse(format!("{path}.sysctls[{i}].name"), &format!("sysctl {:?} (only the safe set is)", s.name));
        }
    }
    if c.level == SecurityLevel::Restricted && sc.run_as_user == Some(0) && !kind.user_namespace {
        c.refuse(format!("{path}.runAsUser"), "running as user 0 (root)");
    }
}

fn container_context(c: &mut Check, ctr: &str, sc: &SecurityContext, kind: PodKind) {
    let path = format!("{ctr}.securityContext");
    if sc.privileged == Some(true) && !c.allowed(|s| s.allow_privileged) {
        c.refuse(format!("{path}.privileged"), "privileged containers");
    }
    if sc.windows_options.as_ref().and_then(|w| w.host_process) == Some(true) {
        c.refuse(format!("{path}.windowsOptions.hostProcess"), "Windows HostProcess containers");
    }
    let allowed_caps: &[&str] = if c.level == SecurityLevel::Restricted && !kind.windows {
        &["NET_BIND_SERVICE"]
    } else {
        &BASELINE_CAPABILITIES
    };
    for (i, cap) in sc.capabilities.as_ref().and_then(|k| k.add.as_ref()).into_iter().flatten().enumerate() {
        // As PSA: the exact names (CAP_CHOWN is not CHOWN to it).
        if !c.skip(cap) && !allowed_caps.contains(&cap.as_str()) {
            c.refuse(
                format!("{path}.capabilities.add[{i}]"),
                &format!("adding capability {cap} (allowed: {})", allowed_caps.join(", ")),
            );
        }
    }
    if let Some(se) = &sc.se_linux_options {
        selinux(c, &path, se);
    }
    if let Some(p) = &sc.seccomp_profile {
        seccomp(c, &path, p);
    }
    if let Some(a) = &sc.app_armor_profile {
        apparmor(c, &path, &a.type_);
    }
    // Baseline lets a pod in a user namespace unmask /proc; restricted never.
    let unmasked_ok = kind.user_namespace && c.level == SecurityLevel::Baseline;
    if let Some(m) = sc.proc_mount.as_deref()
        && m != "Default"
        && !c.skip(m)
        && !unmasked_ok
    {
        c.refuse(format!("{path}.procMount"), &format!("procMount {m:?} (only Default is)"));
    }
    if c.level == SecurityLevel::Restricted && sc.run_as_user == Some(0) && !kind.user_namespace {
        c.refuse(format!("{path}.runAsUser"), "running as user 0 (root)");
    }
}

fn apparmor(c: &mut Check, path: &str, type_: &str) {
    if !matches!(type_, "RuntimeDefault" | "Localhost") && !c.skip(type_) {
        c.refuse(format!("{path}.appArmorProfile.type"), &format!("AppArmor profile {type_}"));
    }
}

fn selinux(c: &mut Check, path: &str, se: &k8s_openapi::api::core::v1::SELinuxOptions) {
    if let Some(t) = se.type_.as_deref().filter(|t| !t.is_empty() && !c.skip(t))
        && !SELINUX_TYPES.contains(&t)
    {
        c.refuse(format!("{path}.seLinuxOptions.type"), &format!("SELinux type {t:?}"));
    }
    for (field, v) in [("user", &se.user), ("role", &se.role)] {
        if v.as_deref().is_some_and(|v| !v.is_empty()) {
            c.refuse(format!("{path}.seLinuxOptions.{field}"), &format!("setting the SELinux {field}"));
        }
    }
}

fn seccomp(c: &mut Check, path: &str, p: &SeccompProfile) {
    if !matches!(p.type_.as_str(), "RuntimeDefault" | "Localhost") && !c.skip(&p.type_) {
        c.refuse(format!("{path}.seccompProfile.type"), &format!("seccomp profile {}", p.type_));
    }
}

fn apparmor_annotations(c: &mut Check, pod: &k8s_openapi::api::core::v1::Pod) {
    for (k, v) in pod.metadata.annotations.iter().flatten() {
        let allowed = v.is_empty() || v == "runtime/default" || v.starts_with("localhost/");
        if k.starts_with(APPARMOR_ANNOTATION) && !allowed && !c.skip(v) {
            c.refuse(format!("metadata.annotations[{k:?}]"), &format!("AppArmor profile {v:?}"));
        }
    }
}

/// What restricted requires on top of baseline: explicit non-root,
/// no privilege escalation, a seccomp profile, every capability dropped
/// (the last three not for Windows pods, non-root not in a user namespace).
fn restricted(c: &mut Check, pod_sc: Option<&PodSecurityContext>, containers: &[ContainerView], kind: PodKind) {
    let pod_non_root = pod_sc.and_then(|s| s.run_as_non_root) == Some(true);
    if pod_sc.and_then(|s| s.run_as_non_root) == Some(false) && !kind.user_namespace {
        c.refuse("spec.securityContext.runAsNonRoot", "runAsNonRoot: false");
    }
    let pod_seccomp = pod_sc.and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str());
    let pod_seccomp_ok = matches!(pod_seccomp, Some("RuntimeDefault" | "Localhost"));
    for ctr in containers {
        let sc = ctr.security;
        let path = format!("{}.securityContext", ctr.path);
        if !kind.user_namespace {
            non_root(c, &path, sc, pod_non_root);
        }
        if kind.windows {
            continue;
        }
        if sc.and_then(|s| s.allow_privilege_escalation) != Some(false) {
            c.refuse(
                format!("{path}.allowPrivilegeEscalation"),
                "allowPrivilegeEscalation must be false; leaving it unset",
            );
        }
        let seccomp = sc.and_then(|s| s.seccomp_profile.as_ref()).map(|p| p.type_.as_str());
        if seccomp.is_none() && !pod_seccomp_ok {
            c.refuse(
                format!("{path}.seccompProfile"),
                "seccompProfile.type must be RuntimeDefault or Localhost here or in spec.securityContext; leaving it unset",
            );
        }
        let drops_all = sc
            .and_then(|s| s.capabilities.as_ref())
            .and_then(|k| k.drop.as_ref())
            .is_some_and(|d| d.iter().any(|x| x == "ALL"));
        if !drops_all {
            c.refuse(format!("{path}.capabilities.drop"), "capabilities.drop must include ALL; keeping capabilities");
        }
    }
}

fn non_root(c: &mut Check, path: &str, sc: Option<&SecurityContext>, pod_non_root: bool) {
    match sc.and_then(|s| s.run_as_non_root) {
        Some(false) => c.refuse(format!("{path}.runAsNonRoot"), "runAsNonRoot: false"),
        None if !pod_non_root => c.refuse(
            format!("{path}.runAsNonRoot"),
            "runAsNonRoot must be true here or in spec.securityContext; leaving it unset",
        ),
        _ => {}
    }
}
