//! Leader election through a `coordination.k8s.io/v1` Lease, as client-go
//! does it: a holder renews the Lease; a candidate takes it over once it
//! has seen the same record unchanged for longer than the lease duration
//! (judged by its own clock, so clock skew between hosts does not matter).

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease as KubeLease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};
use tokio::sync::watch;

use super::Error;

/// How long a holder owns the lease without renewing it.
const LEASE_DURATION: Duration = Duration::from_secs(10);
/// How often the holder renews, and how long it may fail to before it
/// must stop leading (well inside LEASE_DURATION).
const RENEW_EVERY: Duration = Duration::from_secs(2);
const RENEW_DEADLINE: Duration = Duration::from_secs(7);
/// How often a candidate looks.
const RETRY_EVERY: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct Lease {
    api: Api<KubeLease>,
    name: String,
    identity: String,
}

/// What a candidate last saw, and when.
struct Observed {
    record: Option<LeaseSpec>,
    at: Instant,
}

impl Lease {
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Lease {
        Lease {
            api: Api::namespaced(client, namespace),
            name: name.into(),
            identity: identity.into(),
        }
    }

    /// Waits until this replica holds the lease; false if asked to stop.
    pub async fn acquire(&self, mut stop: watch::Receiver<bool>) -> Result<bool, Error> {
        let mut observed = Observed {
            record: None,
            at: Instant::now(),
        };
        loop {
            if *stop.borrow() {
                return Ok(false);
            }
            match self.try_acquire(&mut observed).await {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(error = %e, lease = %self.name, "could not read or take the lease")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(RETRY_EVERY) => {}
                _ = stop.changed() => {}
            }
        }
    }

    async fn try_acquire(&self, observed: &mut Observed) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let Some(current) = self.api.get_opt(&self.name).await? else {
            let lease = KubeLease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.record(None, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        if observed.record.as_ref() != Some(&spec) {
            observed.record = Some(spec.clone());
            observed.at = Instant::now();
        }
        let duration = spec
            .lease_duration_seconds
            .and_then(|s| u64::try_from(s).ok())
            .map_or(LEASE_DURATION, Duration::from_secs);
        let expired = observed.at.elapsed() > duration;
        if !holder.is_empty() && holder != self.identity && !expired {
            return Ok(false);
        }
        let mut lease = current;
        lease.spec = Some(self.record(Some(&spec), now));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => {
                tracing::info!(previous = %holder, lease = %self.name, "acquired the leader lease");
                Ok(true)
            }
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn record(&self, previous: Option<&LeaseSpec>, now: MicroTime) -> LeaseSpec {
        let ours = previous.and_then(|p| p.holder_identity.as_deref()) == Some(self.identity.as_str());
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: if ours {
                previous.and_then(|p| p.acquire_time.clone())
            } else {
                Some(now.clone())
            },
            renew_time: Some(now),
            lease_transitions: Some(
                previous.and_then(|p| p.lease_transitions).unwrap_or(0) + i32::from(!ours && previous.is_some()),
            ),
            ..Default::default()
        }
    }

    /// Renews the lease until stopped; reports on `lost` when it cannot.
    pub async fn keep(self, lost: watch::Sender<bool>, mut stop: watch::Receiver<bool>) {
        let mut last_renewed = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(RENEW_EVERY) => {}
                _ = stop.changed() => return,
            }
            match self.renew().await {
                Ok(true) => last_renewed = Instant::now(),
                Ok(false) => {
                    tracing::error!(lease = %self.name, "another replica holds the lease now");
                    let _ = lost.send(true);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "could not renew the leader lease"),
            }
            if last_renewed.elapsed() > RENEW_DEADLINE {
                let _ = lost.send(true);
                return;
            }
        }
    }

    async fn renew(&self) -> Result<bool, kube::Error> {
        let mut lease = self.api.get(&self.name).await?;
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(false);
        }
        lease.spec = Some(self.record(Some(&spec), MicroTime(Timestamp::now())));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Gives the lease up so a standby takes over at once.
    pub async fn release(&self) {
        let Ok(mut lease) = self.api.get(&self.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        if let Err(e) = self.api.replace(&self.name, &PostParams::default(), &lease).await {
            tracing::warn!(error = %e, "could not release the leader lease");
        } else {
            tracing::info!(lease = %self.name, "released the leader lease");
        }
    }
}
