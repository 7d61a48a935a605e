//! Prometheus metrics of the controller.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PhaseLabel {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    pub operation: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

pub struct Metrics {
    pub workflows: Family<PhaseLabel, Gauge>,
    pub reconcile_seconds: Histogram,
    pub reconciles: Family<ResultLabel, Counter>,
    pub pods_created: Counter,
    pub api_errors: Family<OperationLabel, Counter>,
    pub leader: Gauge<i64, std::sync::atomic::AtomicI64>,
    pub watched_pods: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Reconciles that panicked: each failed its workflow, not the process.
    pub panics: Counter,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("argo");
        let workflows = Family::<PhaseLabel, Gauge>::default();
        registry.register("workflows", "Workflows by phase (Unknown before the first reconcile)", workflows.clone());
        let reconcile_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("reconcile_duration_seconds", "Time to reconcile one workflow", reconcile_seconds.clone());
        let reconciles = Family::<ResultLabel, Counter>::default();
        registry.register("reconciles", "Reconciles by result", reconciles.clone());
        let pods_created = Counter::<u64, AtomicU64>::default();
        registry.register("pods_created", "Pods created", pods_created.clone());
        let api_errors = Family::<OperationLabel, Counter>::default();
        registry.register("api_errors", "Kubernetes API calls that failed, by operation", api_errors.clone());
        let leader = Gauge::default();
        registry.register("controller_leader", "1 when this replica holds the leader lease", leader.clone());
        let watched_pods = Gauge::default();
        registry.register("watched_pods", "Pods in the controller's cache", watched_pods.clone());
        let panics = Counter::<u64, AtomicU64>::default();
        registry.register(
            "reconcile_panics",
            "Reconciles that panicked (the workflow failed with an internal error; the controller went on)",
            panics.clone(),
        );
        Metrics {
            workflows,
            reconcile_seconds,
            reconciles,
            pods_created,
            api_errors,
            leader,
            watched_pods,
            panics,
            registry,
        }
    }
}

impl Metrics {
    pub fn api_error(&self, operation: &str) {
        self.api_errors
            .get_or_create(&OperationLabel {
                operation: operation.into(),
            })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
