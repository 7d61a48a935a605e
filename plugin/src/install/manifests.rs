//! The manifests `install` applies: the files of the kustomize base in
//! manifests/, compiled in, adjusted for the install namespace, the
//! webhook's certificate source and scope.

use serde_json::{Value, json};

/// Where each document goes in the install order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    Namespace,
    Crds,
    Rbac,
    Certificates,
    Workloads,
    Project,
    Webhooks,
}

const BASE: &[(Part, &str)] = &[
    (Part::Namespace, include_str!("../../../manifests/namespace.yaml")),
    (Part::Crds, include_str!("../../../manifests/crds/workflows.argoproj.io.yaml")),
    (Part::Crds, include_str!("../../../manifests/crds/workflowprojects.argoproj.io.yaml")),
    (Part::Crds, include_str!("../../../manifests/crds/workflowtemplates.argoproj.io.yaml")),
    (Part::Crds, include_str!("../../../manifests/crds/clusterworkflowtemplates.argoproj.io.yaml")),
    (Part::Crds, include_str!("../../../manifests/crds/cronworkflows.argoproj.io.yaml")),
    (Part::Rbac, include_str!("../../../manifests/controller/rbac.yaml")),
    (Part::Workloads, include_str!("../../../manifests/controller/service.yaml")),
    (Part::Workloads, include_str!("../../../manifests/controller/deployment.yaml")),
    (Part::Rbac, include_str!("../../../manifests/webhook/rbac.yaml")),
    (Part::Workloads, include_str!("../../../manifests/webhook/deployment.yaml")),
    (Part::Webhooks, include_str!("../../../manifests/webhook/webhooks.yaml")),
    (Part::Project, include_str!("../../../manifests/projects/default.yaml")),
];

const CERT_MANAGER: &str = include_str!("../../../manifests/cert-manager/certificate.yaml");

/// The namespace the manifests are written for.
pub const BASE_NAMESPACE: &str = "argo";
pub const WEBHOOK: &str = "argo-webhook";
pub const TLS_SECRET: &str = "argo-webhook-tls";
pub const DEPLOYMENTS: [&str; 2] = ["argo-controller", "argo-webhook"];

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub namespace: String,
    /// cert-manager issues the certificate and injects the CA.
    pub cert_manager: bool,
    /// Only namespaces (and projects) with this label go through the webhook.
    pub webhook_selector: Option<(String, String)>,
    /// The CA the apiserver trusts the webhook with (PEM).
    pub ca_bundle: Option<String>,
    /// Out-of-cluster: the webhook's URL instead of its Service.
    pub webhook_url: Option<String>,
    /// The controller runs only the workflows of this namespace.
    pub managed_namespace: Option<String>,
}

fn docs(text: &str) -> Vec<Value> {
    argo_api::load::documents(text)
        .map(|d| d.into_iter().map(|d| d.value).collect())
        .unwrap_or_default()
}

fn kind(v: &Value) -> &str {
    v.get("kind").and_then(Value::as_str).unwrap_or("")
}

/// Every document, in install order.
pub fn render(opts: &Options) -> Vec<(Part, Value)> {
    let mut out: Vec<(Part, Value)> =
        BASE.iter().flat_map(|(part, text)| docs(text).into_iter().map(move |d| (*part, d))).collect();
    if opts.cert_manager {
        out.extend(docs(CERT_MANAGER).into_iter().map(|d| (Part::Certificates, d)));
    }
    if opts.webhook_url.is_some() {
        // Out of the cluster: no workloads; the processes on this machine
        // act as the service accounts, so their RBAC stays.
        out.retain(|(p, _)| matches!(p, Part::Namespace | Part::Crds | Part::Rbac | Part::Project | Part::Webhooks));
    }
    for (_, doc) in &mut out {
        adjust(doc, opts);
    }
    out.sort_by_key(|(p, _)| *p);
    out
}

fn adjust(doc: &mut Value, opts: &Options) {
    let ns = opts.namespace.as_str();
    if kind(doc) == "Namespace" {
        doc["metadata"]["name"] = json!(ns);
    }
    if doc.pointer("/metadata/namespace").and_then(Value::as_str) == Some(BASE_NAMESPACE) {
        doc["metadata"]["namespace"] = json!(ns);
    }
    if let Some(subjects) = doc.get_mut("subjects").and_then(Value::as_array_mut) {
        for s in subjects {
            s["namespace"] = json!(ns);
        }
    }
    if let Some(containers) = doc.pointer_mut("/spec/template/spec/containers").and_then(Value::as_array_mut) {
        for c in containers {
            let Some(args) = c.get_mut("args").and_then(Value::as_array_mut) else {
                continue;
            };
            let controller = args.iter().any(|a| a.as_str() == Some("--lease-namespace=argo"));
            for arg in args.iter_mut() {
                if arg.as_str() == Some("--lease-namespace=argo") {
                    *arg = json!(format!("--lease-namespace={ns}"));
                }
            }
            if let (true, Some(managed)) = (controller, &opts.managed_namespace) {
                args.push(json!(format!("--namespace={managed}")));
            }
        }
    }
    if kind(doc) == "Certificate" {
        doc["spec"]["dnsNames"] = json!([
            format!("{WEBHOOK}.{ns}.svc"),
            format!("{WEBHOOK}.{ns}.svc.cluster.local")
        ]);
    }
    if matches!(kind(doc), "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration") {
        adjust_webhooks(doc, opts);
    }
}

fn adjust_webhooks(doc: &mut Value, opts: &Options) {
    let ns = opts.namespace.as_str();
    if opts.cert_manager {
        doc["metadata"]["annotations"] = json!({"cert-manager.io/inject-ca-from": format!("{ns}/{WEBHOOK}")});
    }
    let Some(hooks) = doc.get_mut("webhooks").and_then(Value::as_array_mut) else {
        return;
    };
    for hook in hooks {
        let path = hook.pointer("/clientConfig/service/path").and_then(Value::as_str).unwrap_or("/").to_owned();
        match &opts.webhook_url {
            Some(url) => hook["clientConfig"] = json!({"url": format!("{url}{path}")}),
            None => hook["clientConfig"]["service"]["namespace"] = json!(ns),
        }
        if let Some(ca) = &opts.ca_bundle {
            use base64::Engine;
            hook["clientConfig"]["caBundle"] = json!(base64::engine::general_purpose::STANDARD.encode(ca));
        }
        let projects = hook.pointer("/rules/0/resources/0").and_then(Value::as_str) == Some("workflowprojects");
        if let Some(values) =
            hook.pointer_mut("/namespaceSelector/matchExpressions/0/values").and_then(Value::as_array_mut)
        {
            for v in values.iter_mut() {
                if v.as_str() == Some(BASE_NAMESPACE) {
                    *v = json!(ns);
                }
            }
        }
        if let Some((k, v)) = &opts.webhook_selector {
            let field = if projects {
                "objectSelector"
            } else {
                "namespaceSelector"
            };
            hook[field]["matchLabels"][k] = json!(v);
        }
    }
}

/// `kind/name` as kubectl prints objects.
pub fn describe(doc: &Value) -> String {
    let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let group = doc
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.split_once('/').map(|(g, _)| g))
        .map(|g| format!(".{g}"))
        .unwrap_or_default();
    format!("{}{group}/{name}", kind(doc).to_lowercase())
}

/// The documents as one YAML stream.
pub fn to_yaml(docs: &[(Part, Value)]) -> String {
    docs.iter()
        .map(|(_, d)| serde_yaml::to_string(d).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(docs: &'a [(Part, Value)], kind_: &str, name: &str) -> &'a Value {
        docs.iter()
            .map(|(_, d)| d)
            .find(|d| kind(d) == kind_ && d.pointer("/metadata/name").and_then(Value::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no {kind_} {name}"))
    }

    #[test]
    fn every_file_of_the_kustomization_is_compiled_in() {
        let kustomization: Value = serde_yaml::from_str(include_str!("../../../manifests/kustomization.yaml")).unwrap();
        let listed = kustomization["resources"].as_array().unwrap().len();
        assert_eq!(listed, BASE.len(), "manifests/kustomization.yaml and BASE list the same files");
        let docs = render(&Options {
            namespace: "argo".into(),
            ..Default::default()
        });
        assert_eq!(docs.len(), 22);
        assert!(docs.windows(2).all(|w| w[0].0 <= w[1].0), "install order");
        assert_eq!(docs.last().map(|(p, _)| *p), Some(Part::Webhooks), "webhooks come last");
    }

    #[test]
    fn another_namespace_is_used_everywhere() {
        let docs = render(&Options {
            namespace: "ops".into(),
            ca_bundle: Some("PEM".into()),
            webhook_selector: Some(("team".into(), "a".into())),
            ..Default::default()
        });
        let text = to_yaml(&docs);
        assert!(!text.contains("namespace: argo") && !text.contains("=argo"), "{text}");
        let v = find(&docs, "ValidatingWebhookConfiguration", "argo-webhook");
        assert_eq!(v["webhooks"][0]["clientConfig"]["service"]["namespace"], "ops");
        assert_eq!(v["webhooks"][0]["clientConfig"]["caBundle"], "UEVN");
        assert_eq!(v["webhooks"][0]["namespaceSelector"]["matchExpressions"][0]["values"][1], "ops");
        assert_eq!(v["webhooks"][0]["namespaceSelector"]["matchLabels"]["team"], "a");
        assert_eq!(v["webhooks"][1]["objectSelector"]["matchLabels"]["team"], "a", "projects select by object");
        let b = find(&docs, "ClusterRoleBinding", "argo-controller");
        assert_eq!(b["subjects"][0]["namespace"], "ops");
        let d = find(&docs, "Deployment", "argo-controller");
        assert!(d.to_string().contains("--lease-namespace=ops"));
        assert!(!d.to_string().contains("--namespace="), "all namespaces unless asked");
    }

    #[test]
    fn a_managed_namespace_limits_the_controller_only() {
        let docs = render(&Options {
            namespace: "argo".into(),
            managed_namespace: Some("team-a".into()),
            ..Default::default()
        });
        let args =
            |name: &str| find(&docs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["args"].clone();
        assert_eq!(
            args("argo-controller").as_array().and_then(|a| a.last()).cloned(),
            Some(json!("--namespace=team-a"))
        );
        assert!(!args("argo-webhook").to_string().contains("--namespace="));
    }

    #[test]
    fn out_of_cluster_only_registers_the_webhook_by_url() {
        let docs = render(&Options {
            namespace: "argo".into(),
            webhook_url: Some("https://127.0.0.1:9443".into()),
            ..Default::default()
        });
        assert!(docs.iter().all(|(_, d)| !matches!(kind(d), "Deployment" | "Service")));
        // The processes on this machine act as the service accounts.
        let binding = find(&docs, "ClusterRoleBinding", "argo-controller");
        assert_eq!(binding["subjects"][0]["name"], "argo-controller");
        find(&docs, "ServiceAccount", "argo-webhook");
        let m = find(&docs, "MutatingWebhookConfiguration", "argo-webhook");
        assert_eq!(m["webhooks"][0]["clientConfig"]["url"], "https://127.0.0.1:9443/mutate");
    }

    #[test]
    fn cert_manager_adds_its_certificate_and_ca_injection() {
        let docs = render(&Options {
            namespace: "ops".into(),
            cert_manager: true,
            ..Default::default()
        });
        let c = find(&docs, "Certificate", "argo-webhook");
        assert_eq!(c["spec"]["dnsNames"][0], "argo-webhook.ops.svc");
        let m = find(&docs, "MutatingWebhookConfiguration", "argo-webhook");
        assert_eq!(m["metadata"]["annotations"]["cert-manager.io/inject-ca-from"], "ops/argo-webhook");
        assert_eq!(describe(c), "certificate.cert-manager.io/argo-webhook");
    }
}
