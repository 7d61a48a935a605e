//! What an image runs when its container gives no command: read from the
//! image's config in its registry (as upstream's emissary does), cached,
//! so the pod can run that command under `argo-exec`. Anonymous pulls only;
//! `--image-command` covers the rest.
//!
//! Registries are whatever a tenant's image names, so look-ups never run
//! on the reconcile path: a reconcile that needs one starts it in the
//! background and comes back for the answer. Each has a short budget, a
//! registry gets a few at a time, and the project decides which registries
//! may be contacted at all (`lookupRegistries`).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argo_api::Workflow;
use argo_api::executor::{Executor, ImageCommand};
use argo_api::workflow::Template;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use tokio::sync::Semaphore;

/// A failed lookup is tried again after this long.
const RETRY_AFTER: Duration = Duration::from_secs(60);
/// Lookups one reconcile starts at most: a workflow naming thousands of
/// images cannot keep the controller busy.
const MAX_PER_PASS: usize = 16;
/// Images remembered; past it the oldest failures go first, then anything.
const MAX_CACHED: usize = 4096;
/// All one lookup may take, connecting included.
const BUDGET: Duration = Duration::from_secs(5);
/// Lookups in flight at once, and per registry.
const MAX_IN_FLIGHT: usize = 32;
const MAX_PER_REGISTRY: usize = 4;

enum Cached {
    Known(ImageCommand),
    Failed {
        why: String,
        at: Instant,
    },
    /// Being looked up in the background (stale after twice the budget:
    /// a lookup that never reported is started again).
    InFlight {
        since: Instant,
    },
}

/// What a workflow's command-less images run, as far as is known now.
pub enum Lookup {
    Ready(Executor),
    /// Some are being looked up: come back shortly.
    Waiting,
}

#[derive(Clone)]
pub struct Images {
    inner: Arc<Inner>,
}

struct Inner {
    /// Why there is none: lookups then fail with it, the controller runs on.
    client: Result<Client, String>,
    /// Look images up as MIRROR/<registry>/<repository> (the layout
    /// containerd's mirror `override_path` uses).
    mirror: Option<String>,
    cache: Mutex<HashMap<String, Cached>>,
    in_flight: Semaphore,
    per_registry: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Images {
    /// `mirror`: `http://host:port` or `https://host:port`.
    pub fn new(mirror: Option<&str>) -> Images {
        let (mirror, protocol) = match mirror {
            Some(m) => match m.strip_prefix("http://") {
                Some(host) => (
                    Some(host.trim_end_matches('/').to_owned()),
                    ClientProtocol::HttpsExcept(vec![host.trim_end_matches('/').to_owned()]),
                ),
                None => {
                    (Some(m.trim_start_matches("https://").trim_end_matches('/').to_owned()), ClientProtocol::Https)
                }
            },
            None => (None, ClientProtocol::Https),
        };
        // Mozilla's roots, not the system's: the image has no CA store.
        let roots = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|c| Certificate {
                encoding: CertificateEncoding::Der,
                data: c.to_vec(),
            })
            .collect();
        let config = ClientConfig {
            protocol,
            tls_certs_only: roots,
            connect_timeout: Some(Duration::from_secs(2)),
            read_timeout: Some(Duration::from_secs(3)),
            ..Default::default()
        };
        // oci-client builds a default reqwest client besides ours, which
        // panics where no CA store exists: that must not stop the controller.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Client::try_from(config)));
        let client = match built {
            Ok(c) => c.map_err(|e| format!("no registry client: {e}")),
            Err(_) => Err("no registry client: no CA certificates on this system (/etc/ssl/certs)".to_owned()),
        };
        if let Err(e) = &client {
            tracing::warn!(error = %e, "image configs cannot be read; commands without `command` run unwrapped");
        }
        Images {
            inner: Arc::new(Inner {
                client,
                mirror,
                cache: Mutex::new(HashMap::new()),
                in_flight: Semaphore::new(MAX_IN_FLIGHT),
                per_registry: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// `base` with what the workflow's command-less images run, or Waiting
    /// while some are being looked up. `allowed` says whether an image's
    /// registry may be contacted (the project's rule); never blocks.
    pub fn executor_for(&self, base: &Executor, wf: &Workflow, allowed: impl Fn(&str) -> Result<(), String>) -> Lookup {
        let wanted: Vec<String> = commandless_images(wf).into_iter().filter(|i| base.entrypoint(i).is_none()).collect();
        let mut exec = base.clone();
        let mut waiting = false;
        let mut started = 0;
        let mut cache = self.inner.cache.lock().unwrap_or_else(|p| p.into_inner());
        for image in wanted {
            if let Err(why) = allowed(&image) {
                exec.unknown.insert(image, why);
                continue;
            }
            match cache.get(&image) {
                Some(Cached::Known(c)) => {
                    exec.entrypoints.insert(image, c.clone());
                }
                Some(Cached::Failed { why, at }) if at.elapsed() <= RETRY_AFTER => {
                    exec.unknown.insert(image, why.clone());
                }
                Some(Cached::InFlight { since }) if since.elapsed() <= 2 * BUDGET => waiting = true,
                Some(Cached::Failed { .. } | Cached::InFlight { .. }) | None if started < MAX_PER_PASS => {
                    if cache.len() >= MAX_CACHED {
                        evict(&mut cache);
                    }
                    cache.insert(image.clone(), Cached::InFlight { since: Instant::now() });
                    started += 1;
                    waiting = true;
                    let inner = self.inner.clone();
                    tokio::spawn(async move { inner.look_up_in_background(image).await });
                }
                Some(Cached::Failed { .. } | Cached::InFlight { .. }) | None => waiting = true,
            }
        }
        if waiting { Lookup::Waiting } else { Lookup::Ready(exec) }
    }
}

impl Inner {
    async fn look_up_in_background(self: Arc<Self>, image: String) {
        let result = tokio::time::timeout(BUDGET, self.limited(&image))
            .await
            .unwrap_or_else(|_| Err(format!("no answer within {}s", BUDGET.as_secs())));
        if let Err(why) = &result {
            tracing::info!(%image, %why, "could not read the image's config");
        }
        let entry = match result {
            Ok(c) => Cached::Known(c),
            Err(why) => Cached::Failed {
                why,
                at: Instant::now(),
            },
        };
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(image, entry);
    }

    /// One lookup, once a slot overall and one for its registry are free.
    async fn limited(&self, image: &str) -> Result<ImageCommand, String> {
        let original: Reference = image.parse().map_err(|e| format!("not an image reference: {e}"))?;
        // The host actually contacted: the mirror, when there is one.
        let host = self.mirror.clone().unwrap_or_else(|| original.resolve_registry().to_owned());
        let registry = Arc::clone(
            self.per_registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(host)
                .or_insert_with(|| Arc::new(Semaphore::new(MAX_PER_REGISTRY))),
        );
        let _all = self.in_flight.acquire().await.map_err(|e| e.to_string())?;
        let _one = registry.acquire().await.map_err(|e| e.to_string())?;
        self.look_up(original).await
    }

    async fn look_up(&self, original: Reference) -> Result<ImageCommand, String> {
        let reference = match &self.mirror {
            None => original,
            Some(host) => {
                let repository = format!("{}/{}", original.registry(), original.repository());
                match (original.digest(), original.tag()) {
                    (Some(d), _) => Reference::with_digest(host.clone(), repository, d.to_owned()),
                    (None, t) => Reference::with_tag(host.clone(), repository, t.unwrap_or("latest").to_owned()),
                }
            }
        };
        let client = self.client.as_ref().map_err(Clone::clone)?;
        let (_, _, config) = client
            .pull_manifest_and_config(&reference, &RegistryAuth::Anonymous)
            .await
            .map_err(|e| format!("reading the image config from {}: {e}", reference.resolve_registry()))?;
        parse_config(&config)
    }
}

/// ENTRYPOINT and CMD of an OCI or Docker image config.
fn parse_config(config: &str) -> Result<ImageCommand, String> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct Inner {
        entrypoint: Option<Vec<String>>,
        cmd: Option<Vec<String>>,
    }
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct Config {
        config: Inner,
    }
    let c: Config = serde_json::from_str(config).map_err(|e| format!("the image config is not JSON: {e}"))?;
    let command = ImageCommand {
        entrypoint: c.config.entrypoint.unwrap_or_default(),
        cmd: c.config.cmd.unwrap_or_default(),
    };
    if command.entrypoint.is_empty() && command.cmd.is_empty() {
        return Err("the image has neither ENTRYPOINT nor CMD".into());
    }
    Ok(command)
}

fn evict(cache: &mut HashMap<String, Cached>) {
    let victim = cache
        .iter()
        .find(|(_, c)| matches!(c, Cached::Failed { .. }))
        .or_else(|| cache.iter().next())
        .map(|(k, _)| k.clone());
    if let Some(k) = victim {
        cache.remove(&k);
    }
}

/// Images of the workflow's container templates (inline ones too) that
/// give no command, and whose name is not a `{{...}}` tag (known only once
/// substituted).
fn commandless_images(wf: &Workflow) -> Vec<String> {
    let default = wf.spec.template_defaults.as_ref().and_then(|d| d.container.as_ref());
    let mut out: BTreeMap<String, ()> = BTreeMap::new();
    let mut templates: Vec<&Template> = wf.spec.templates.iter().collect();
    // A loop, not recursion: inline templates nest as deep as a user likes.
    let mut i = 0;
    while let Some(t) = templates.get(i).copied() {
        i += 1;
        let calls =
            t.steps.iter().flatten().flatten().chain(t.dag.iter().flat_map(|d| d.tasks.iter().map(|t| &t.step)));
        templates.extend(calls.filter_map(|s| s.inline.as_deref()));
        let Some(c) = &t.container else { continue };
        let command = c.command.as_ref().or(default.and_then(|d| d.command.as_ref()));
        let image = c.image.as_deref().or(default.and_then(|d| d.image.as_deref()));
        if let Some(image) = image.filter(|i| !i.contains("{{"))
            && command.is_none_or(Vec::is_empty)
        {
            out.insert(image.to_owned(), ());
        }
    }
    out.into_keys().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_give_entrypoint_and_cmd() {
        let c = parse_config(r#"{"architecture":"amd64","config":{"Entrypoint":["/argosay"],"Cmd":["echo"]}}"#);
        assert_eq!(
            c,
            Ok(ImageCommand {
                entrypoint: vec!["/argosay".into()],
                cmd: vec!["echo".into()]
            })
        );
        assert!(parse_config(r#"{"config":{}}"#).is_err());
        assert!(parse_config("garbage").is_err());
    }

    #[test]
    fn the_client_is_built_on_its_own_roots() {
        // As argo-service does at start; the in-cluster test runs it in the
        // FROM scratch image, which has no CA store.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let images = Images::new(Some("http://127.0.0.1:1"));
        assert!(images.inner.client.is_ok(), "{:?}", images.inner.client.as_ref().err());
    }

    fn workflow_with(images: &[String]) -> Workflow {
        let templates: Vec<serde_json::Value> = images
            .iter()
            .enumerate()
            .map(|(i, image)| serde_json::json!({"name": format!("t{i}"), "container": {"image": image}}))
            .collect();
        argo_api::load::workflow(&serde_json::json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
            "metadata": {"name": "w"}, "spec": {"entrypoint": "t0", "templates": templates}}))
        .expect("workflow")
    }

    /// Issue 19, finding 8: a registry that accepts and never answers
    /// holds no reconcile (the answer is "come back"), gets at most a few
    /// connections at once, and is given up on after the budget.
    #[tokio::test]
    async fn a_silent_registry_holds_nothing_and_gets_few_connections() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let o = open.clone();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                o.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(socket);
            }
        });
        let images = Images::new(Some(&format!("http://127.0.0.1:{port}")));
        let names: Vec<String> = (0..12).map(|i| format!("registry.example.com/silent-{i}:1")).collect();
        let wf = workflow_with(&names);
        let started = Instant::now();
        let first = images.executor_for(&Executor::default(), &wf, |_| Ok(()));
        assert!(matches!(first, Lookup::Waiting));
        assert!(started.elapsed() < Duration::from_millis(500), "it returned at once: {:?}", started.elapsed());
        // Before any lookup gives up (the read timeout is 3 s), only a
        // registry's share of them has connected.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let early = open.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..=MAX_PER_REGISTRY).contains(&early), "{early} connections to one registry at once");
        let exec = loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if let Lookup::Ready(e) = images.executor_for(&Executor::default(), &wf, |_| Ok(())) {
                break e;
            }
            assert!(started.elapsed() < 4 * BUDGET, "the lookups end within their budget");
        };
        assert_eq!(exec.unknown.len(), 12, "{:?}", exec.unknown);
        assert!(exec.unknown.values().all(|w| w.contains("no answer within 5s")), "{:?}", exec.unknown);
    }

    #[tokio::test]
    async fn a_registry_the_project_refuses_is_never_contacted() {
        let images = Images::new(None);
        let wf = workflow_with(&["10.96.0.1:443/x:1".to_owned()]);
        let Lookup::Ready(exec) = images.executor_for(&Executor::default(), &wf, |_| Err("not this one".into())) else {
            panic!("nothing to wait for");
        };
        assert_eq!(exec.unknown["10.96.0.1:443/x:1"], "not this one");
        assert!(images.inner.cache.lock().expect("cache").is_empty(), "no lookup was started");
    }

    #[test]
    fn inline_templates_count_and_commands_or_tags_do_not() {
        let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: w}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, inline: {container: {image: "argoproj/argosay:v2"}}}
      - {name: b, inline: {steps: [[{name: c, inline: {container: {image: nginx}}}]]}}
  - name: given
    container: {image: alpine, command: [echo]}
  - name: tagged
    container: {image: "{{workflow.parameters.image}}"}
"#;
        let wf = argo_api::load::workflow(&serde_yaml::from_str(yaml).expect("yaml")).expect("workflow");
        assert_eq!(commandless_images(&wf), ["argoproj/argosay:v2", "nginx"]);
    }
}
