//! The serving certificate is replaced without a restart when its files
//! change, including the symlink swap of a mounted Secret; connections
//! already open keep working.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use argo_webhook::admission::{self, Admission};
use argo_webhook::certs::{Ca, Pem};
use argo_webhook::projects::Fixed;
use argo_webhook::{server, tls};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

fn publish(dir: &Path, version: &str, pem: &Pem) {
    argo_webhook::certs::write_mounted(dir, version, pem).expect("write certificate files");
}

async fn connect(addr: SocketAddr, ca: &Pem) -> TlsStream<TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(ca.cert.as_bytes()).expect("CA PEM")).expect("CA");
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.expect("connect");
    TlsConnector::from(Arc::new(config))
        .connect(ServerName::IpAddress(Ipv4Addr::LOCALHOST.into()), tcp)
        .await
        .expect("TLS handshake with the CA's certificate")
}

fn served(conn: &TlsStream<TcpStream>) -> Vec<u8> {
    conn.get_ref().1.peer_certificates().expect("a server certificate")[0].to_vec()
}

fn der(pem: &Pem) -> Vec<u8> {
    CertificateDer::from_pem_slice(pem.cert.as_bytes()).expect("PEM").to_vec()
}

/// One HTTP/1.1 request on a kept-alive connection; returns the status.
async fn post(conn: &mut TlsStream<TcpStream>) -> u16 {
    let body = "{}";
    let req = format!(
        "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = conn.read(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).expect("an HTTP status")
}

#[tokio::test]
async fn a_rotated_certificate_is_served_without_a_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::env::temp_dir().join(format!("argo-webhook-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = Ca::new("test CA").unwrap();
    let ip = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
    let first = ca.serving(&["localhost".into()], &ip).unwrap();
    let second = ca.serving(&["localhost".into()], &ip).unwrap();
    publish(&dir, "..v1", &first);

    let cert = tls::ReloadingCert::new(&dir.join("tls.crt"), &dir.join("tls.key")).unwrap();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(cert.clone().watch(Duration::from_millis(100), stop.clone()));
    let app = admission::router(
        Admission {
            projects: Arc::new(Fixed::new(vec![])),
            templates: Arc::new(argo_api::templates::NoTemplates),
            controller_user: None,
            metrics: Arc::default(),
        },
        4,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server::serve(listener, cert, app, stop));

    let mut before = connect(addr, &ca.pem).await;
    assert_eq!(served(&before), der(&first));
    assert_eq!(post(&mut before).await, 400, "an empty review is a 400, served over TLS");

    // A half-written new pair is not taken.
    std::fs::create_dir_all(dir.join("..broken")).unwrap();
    std::fs::write(dir.join("..broken/tls.crt"), "garbage").unwrap();
    std::fs::write(dir.join("..broken/tls.key"), "garbage").unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink("..broken", &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(served(&connect(addr, &ca.pem).await), der(&first), "a broken pair keeps the old certificate");

    publish(&dir, "..v2", &second);
    let mut rotated = false;
    for _ in 0..50 {
        if served(&connect(addr, &ca.pem).await) == der(&second) {
            rotated = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(rotated, "the new certificate was never served");
    assert_eq!(post(&mut before).await, 400, "the connection opened before the swap still works");
    let _ = std::fs::remove_dir_all(&dir);
}
