//! The serving certificate, re-read whenever its files change on disk
//! (including the symlink swap a mounted Secret does). Connections already
//! open keep their certificate; new handshakes get the new one. A broken
//! new pair is logged and the old one kept.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::sync::watch;

use crate::Error;

pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert: PathBuf,
    key: PathBuf,
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert").field("cert", &self.cert).field("key", &self.key).finish()
    }
}

fn load(cert: &Path, key: &Path) -> Result<CertifiedKey, Error> {
    let fail = |path: &Path, reason: String| Error::invalid(format!("TLS certificate {}", path.display()), reason);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| fail(cert, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| fail(cert, e.to_string()))?;
    if chain.is_empty() {
        return Err(fail(cert, "no certificate in the file".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| fail(key, e.to_string()))?;
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let signing = provider.key_provider.load_private_key(key_der).map_err(|e| fail(key, e.to_string()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| fail(key, format!("does not match the certificate: {e}")))?;
    Ok(certified)
}

/// What identifies the files' current content: resolved path, size, time.
fn fingerprint(path: &Path) -> Option<(PathBuf, u64, SystemTime)> {
    let real = std::fs::canonicalize(path).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    Some((real, meta.len(), meta.modified().ok()?))
}

impl ReloadingCert {
    pub fn new(cert: &Path, key: &Path) -> Result<Arc<ReloadingCert>, Error> {
        let loaded = load(cert, key)?;
        Ok(Arc::new(ReloadingCert {
            current: RwLock::new(Arc::new(loaded)),
            cert: cert.into(),
            key: key.into(),
        }))
    }

    /// Watches the files until `stop`, swapping the certificate in when
    /// they change.
    pub async fn watch(self: Arc<Self>, every: Duration, mut stop: watch::Receiver<bool>) {
        let mut seen = (fingerprint(&self.cert), fingerprint(&self.key));
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            let now = (fingerprint(&self.cert), fingerprint(&self.key));
            if now == seen {
                continue;
            }
            match load(&self.cert, &self.key) {
                Ok(k) => {
                    *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(k);
                    seen = now;
                    tracing::info!(cert = %self.cert.display(), "reloaded the TLS certificate");
                }
                // Half-written files settle on a later pass.
                Err(e) => tracing::warn!(error = %e, "new TLS certificate not usable yet; keeping the old one"),
            }
        }
    }

    pub fn server_config(self: &Arc<Self>) -> rustls::ServerConfig {
        let mut config = rustls::ServerConfig::builder().with_no_client_auth().with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        config
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.read().unwrap_or_else(|e| e.into_inner()).clone())
    }
}
