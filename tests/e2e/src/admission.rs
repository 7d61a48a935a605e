//! Talking to a webhook process directly, as the apiserver does: HTTP/1.1
//! over TLS with keep-alive, trusting the webhook's CA.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub type Connection = TlsStream<TcpStream>;

pub async fn connect(addr: SocketAddr, ca_pem: &str) -> Result<Connection> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes())?)?;
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let tcp = TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    Ok(TlsConnector::from(Arc::new(config))
        .connect(ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()), tcp)
        .await?)
}

/// The leaf certificate the connection was served, DER-encoded.
pub fn served(conn: &Connection) -> Vec<u8> {
    conn.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec()).unwrap_or_default()
}

/// Posts `body` on a kept-alive connection; the answer's body (in `buf`,
/// reused between calls so a load loop does not allocate) when the status
/// is 200, an error otherwise.
pub async fn post<'b>(conn: &mut Connection, path: &str, body: &[u8], buf: &'b mut Vec<u8>) -> Result<&'b [u8]> {
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).await?;
    conn.write_all(body).await?;
    buf.clear();
    let mut chunk = [0u8; 16384];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            bail!("the webhook closed the connection");
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]);
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
            .context("no Content-Length")?;
        if buf.len() < end + 4 + len {
            continue;
        }
        if !head.starts_with("HTTP/1.1 200") {
            bail!("the webhook answered {}", head.lines().next().unwrap_or_default());
        }
        return Ok(&buf[end + 4..end + 4 + len]);
    }
}

/// An AdmissionReview asking to create a small valid Workflow in `namespace`.
pub fn review(i: usize, namespace: &str) -> Vec<u8> {
    let wf = serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
        "metadata": {"name": format!("w{i}"), "namespace": namespace},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "alpine:3.19"}}]}});
    let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
        "uid": format!("00000000-0000-0000-0000-{i:012}"),
        "kind": {"group": "argoproj.io", "version": "v1alpha1", "kind": "Workflow"},
        "resource": {"group": "argoproj.io", "version": "v1alpha1", "resource": "workflows"},
        "name": format!("w{i}"), "namespace": namespace, "operation": "CREATE",
        "userInfo": {"username": "load", "groups": ["system:authenticated"]}, "object": wf, "dryRun": false}});
    serde_json::to_vec(&review).unwrap_or_default()
}
