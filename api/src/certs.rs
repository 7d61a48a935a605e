//! A CA and a serving certificate for the webhook, for clusters without
//! cert-manager and for the local cluster: the apiserver is given the CA
//! (as `caBundle`) and the webhook serves the certificate.

use std::net::IpAddr;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};

/// PEM text of a certificate and its key.
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// From yesterday (clock skew) to `years` from now.
fn validity(params: &mut CertificateParams, years: i16) {
    let today = k8s_openapi::jiff::Timestamp::now().to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).date();
    let yesterday = today.yesterday().unwrap_or(today);
    let ymd = |d: k8s_openapi::jiff::civil::Date, plus: i16| {
        // Feb 29 has no match in most years; the 28th does.
        rcgen::date_time_ymd(i32::from(d.year() + plus), d.month() as u8, d.day().min(28) as u8)
    };
    params.not_before = ymd(yesterday, 0);
    params.not_after = ymd(today, years);
}

/// How long certificates made here are valid.
pub const CA_YEARS: i16 = 10;
pub const SERVING_YEARS: i16 = 2;

pub struct Ca {
    pub pem: Pem,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Result<Ca, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params, CA_YEARS);
        let key = KeyPair::generate()?;
        let cert = params.self_signed(&key)?;
        let pem = Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        };
        Ok(Ca {
            pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// A serving certificate for these DNS names and IP addresses.
    pub fn serving(&self, dns: &[String], ips: &[IpAddr]) -> Result<Pem, rcgen::Error> {
        let mut params = CertificateParams::new(dns.to_vec())?;
        params
            .distinguished_name
            .push(DnType::CommonName, dns.first().map_or("argo-webhook", String::as_str));
        params.subject_alt_names.extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        validity(&mut params, SERVING_YEARS);
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// Writes `pem` into `dir` the way the kubelet mounts a Secret: the files
/// are symlinks through `..data`, which is swapped atomically to the new
/// `version` directory. Used to rotate certificates in place.
pub fn write_mounted(dir: &std::path::Path, version: &str, pem: &Pem) -> std::io::Result<()> {
    let data = dir.join(version);
    std::fs::create_dir_all(&data)?;
    std::fs::write(data.join("tls.crt"), &pem.cert)?;
    std::fs::write(data.join("tls.key"), &pem.key)?;
    let tmp = dir.join("..data_tmp");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(version, &tmp)?;
    std::fs::rename(&tmp, dir.join("..data"))?;
    for f in ["tls.crt", "tls.key"] {
        let link = dir.join(f);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{f}"), link)?;
        }
    }
    Ok(())
}
