//! The imperative shell around the engine: watches Workflows and their
//! Pods with kube-runtime, runs the engine on each change, and applies what
//! it decides. Only the replica holding the Lease reconciles.

mod admin;
mod apply;
pub mod args;
mod cron;
mod images;
mod leader;
mod metrics;
mod reconcile;
mod rerun;
mod shared;

use std::sync::Arc;
use std::time::Duration;

use argo_service::{WatchedProjects, WatchedTemplates};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use tokio::sync::watch;

pub use argo_service::Error;
pub use args::Args;

use self::metrics::Metrics;
use self::shared::Shared;

/// Runs the controller until the first shutdown signal.
pub async fn run(args: Args) -> Result<(), Error> {
    let client = args.service.client().await?;
    let metrics = Arc::new(Metrics::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(argo_service::stop_on_signals(stop_tx));

    let state = admin::State::new(metrics.clone());
    let listener = tokio::net::TcpListener::bind(&args.admin_address).await?;
    tracing::info!(address = %listener.local_addr()?, "admin server listening");
    tokio::spawn(admin::serve(listener, state.clone(), stop_rx.clone()));

    let identity = args.identity();
    let lease = leader::Lease::new(client.clone(), &args.lease_namespace, &args.lease_name, &identity);
    if args.leader_elect {
        state.set_role("standby");
        if !lease.acquire(stop_rx.clone()).await? {
            return Ok(());
        }
    }
    tracing::info!(%identity, "leading: starting the workflow controller");
    state.set_role("leader");
    metrics.leader.set(1);
    let (lost_tx, lost_rx) = watch::channel(false);
    // Without election nothing can lose the lease: the sender lives on.
    let (renewer, _unused_sender) = if args.leader_elect {
        (Some(tokio::spawn(lease.clone().keep(lost_tx, stop_rx.clone()))), None)
    } else {
        (None, Some(lost_tx))
    };
    let result = controller(client, &args, metrics, state, stop_rx, lost_rx).await;
    if let Some(r) = renewer {
        r.abort();
    }
    if args.leader_elect {
        lease.release().await;
    }
    result
}

async fn controller(
    client: Client,
    args: &Args,
    metrics: Arc<Metrics>,
    state: admin::State,
    mut stop: watch::Receiver<bool>,
    mut lost: watch::Receiver<bool>,
) -> Result<(), Error> {
    let ar = reconcile::workflow_resource();
    let (wf_api, pod_api): (Api<DynamicObject>, Api<Pod>) = match &args.namespace {
        Some(ns) => (Api::namespaced_with(client.clone(), ns, &ar), Api::namespaced(client.clone(), ns)),
        None => (Api::all_with(client.clone(), &ar), Api::all(client.clone())),
    };
    let (pod_store, pod_writer) = reflector::store::<Pod>();
    // Only pods whose outcome is not yet recorded: the rest need no memory.
    let pod_config =
        watcher::Config::default().labels(&format!("{},{}!=true", argo_api::keys::WORKFLOW, argo_api::keys::COMPLETED));
    let pod_events = watcher(pod_api, pod_config)
        .default_backoff()
        .modify(reconcile::slim_pod)
        .reflect(pod_writer)
        .touched_objects();
    let ctl = Controller::new_with(wf_api, watcher::Config::default(), ar.clone())
        .owns_stream_with(pod_events, ())
        .with_config(
            ControllerConfig::default()
                .concurrency(args.workers)
                .debounce(Duration::from_millis(args.debounce_ms)),
        );
    let wf_store = ctl.store();
    let projects = WatchedProjects::start(client.clone());
    let templates = WatchedTemplates::start(client.clone());
    let cron_client = client.clone();
    let pods_synced = state.set_stores(wf_store.clone(), pod_store.clone(), projects.clone());
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "argo-controller".into(),
            instance: Some(args.identity()),
        },
    );
    let images = images::Images::new(args.registry_mirror.as_deref());
    let mut shared =
        Shared::new(client, pod_store, pods_synced, projects, recorder, metrics, args.pod_create_concurrency, images);
    shared.test_panics = args.test_panic_annotation;
    shared.templates = Some(templates);
    shared.executor = args.executor();
    shared.image_pull_timeout = Some(args.image_pull_timeout).filter(|d| !d.is_zero());
    let shared = Arc::new(shared);
    let (mut cron_stop, mut cron_lost) = (stop.clone(), lost.clone());
    let cron_shutdown = async move {
        tokio::select! {
            _ = cron_stop.wait_for(|s| *s) => {}
            _ = cron_lost.wait_for(|l| *l) => {}
        }
    };
    let crons =
        tokio::spawn(cron::run(cron_client, args.namespace.clone(), shared.clone(), wf_store.clone(), cron_shutdown));
    let shutdown = async move {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => tracing::info!("shutting down"),
            _ = lost.wait_for(|l| *l) => tracing::error!("lost the leader lease; stopping"),
        }
    };
    ctl.graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, reconcile::error_policy, shared)
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "reconcile queue");
            }
        })
        .await;
    let _ = crons.await;
    Ok(())
}
