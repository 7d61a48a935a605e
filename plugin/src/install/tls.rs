//! The webhook's serving certificate when `install` makes it: a CA and a
//! certificate for the Service's DNS names, kept in a Secret and reused on
//! the next install while it is valid, so the caBundle stays the same.

use std::collections::BTreeMap;

use argo_api::certs::{Ca, SERVING_YEARS};
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, Patch, PatchParams};

use super::apply::MANAGER;
use super::manifests::{TLS_SECRET, WEBHOOK};
use crate::cluster::Conn;
use crate::error::{Error, Result};

const NAMES: &str = "argo-rs.io/dns-names";
const NOT_AFTER: &str = "argo-rs.io/not-after";
/// Renew this long before the certificate expires.
const RENEW_BEFORE: SignedDuration = SignedDuration::from_hours(30 * 24);

pub fn dns_names(namespace: &str) -> Vec<String> {
    vec![
        format!("{WEBHOOK}.{namespace}.svc"),
        format!("{WEBHOOK}.{namespace}.svc.cluster.local"),
    ]
}

/// The CA (PEM) the apiserver should trust; `created` says whether a new
/// certificate was made.
pub async fn ensure(conn: &Conn, namespace: &str) -> Result<(String, bool)> {
    let api: Api<Secret> = Api::namespaced(conn.client.clone(), namespace);
    let names = dns_names(namespace).join(",");
    let now = Timestamp::now();
    if let Some(s) = api.get_opt(TLS_SECRET).await.map_err(|e| conn.err(e))? {
        let ann = s.metadata.annotations.clone().unwrap_or_default();
        let valid = ann
            .get(NOT_AFTER)
            .and_then(|t| t.parse::<Timestamp>().ok())
            .is_some_and(|t| now.checked_add(RENEW_BEFORE).is_ok_and(|soon| t > soon));
        let data = s.data.unwrap_or_default();
        let has = |k: &str| data.get(k).is_some_and(|v| !v.0.is_empty());
        if valid
            && ann.get(NAMES) == Some(&names)
            && has("tls.crt")
            && has("tls.key")
            && let Some(ca) = data.get("ca.crt")
        {
            return Ok((String::from_utf8_lossy(&ca.0).into_owned(), false));
        }
    }
    let ca = Ca::new("argo-rs webhook CA").map_err(|e| Error::Other(format!("cannot make a CA: {e}")))?;
    let pem = ca
        .serving(&dns_names(namespace), &[])
        .map_err(|e| Error::Other(format!("cannot make the webhook's certificate: {e}")))?;
    let not_after =
        now.checked_add(SignedDuration::from_hours(24 * 365 * i64::from(SERVING_YEARS) - 48)).unwrap_or(now);
    let mut secret = Secret {
        type_: Some("kubernetes.io/tls".into()),
        data: Some(BTreeMap::from([
            ("tls.crt".to_owned(), ByteString(pem.cert.into_bytes())),
            ("tls.key".to_owned(), ByteString(pem.key.into_bytes())),
            ("ca.crt".to_owned(), ByteString(ca.pem.cert.clone().into_bytes())),
        ])),
        ..Default::default()
    };
    secret.metadata.name = Some(TLS_SECRET.into());
    secret.metadata.namespace = Some(namespace.into());
    secret.metadata.labels = Some(BTreeMap::from([("app.kubernetes.io/part-of".into(), "argo-rs".into())]));
    secret.metadata.annotations =
        Some(BTreeMap::from([(NAMES.into(), names), (NOT_AFTER.into(), not_after.to_string())]));
    let mut value = serde_json::to_value(&secret)?;
    value["apiVersion"] = "v1".into();
    value["kind"] = "Secret".into();
    api.patch(TLS_SECRET, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&value))
        .await
        .map_err(|e| conn.err(e))?;
    Ok((ca.pem.cert, true))
}
