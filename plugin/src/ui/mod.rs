//! `kubectl argo ui`: a web UI served from the user's own machine. It
//! talks to each cluster with the user's kubeconfig, so Kubernetes RBAC
//! decides what they see and do, and no credentials go anywhere else.

mod api;
mod assets;
mod guard;
mod hub;
mod stream;

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

use crate::cluster::{self, Conn};
use crate::commands::Ctx;
use crate::error::{Error, Result};
use api::ApiError;
use guard::Guard;
use hub::Hub;

pub const EXAMPLES: &str = "Examples:
  # The current context's workflows, in the browser
  kubectl argo ui
  # Two clusters in one view, on a chosen port, without opening a browser
  kubectl argo ui --context prod,staging --port 8080 --no-open
  # Every context of the kubeconfig, one namespace of each
  kubectl argo ui --all-contexts -n team-a";

#[derive(Debug, clap::Args)]
pub struct UiArgs {
    /// Show every context of the kubeconfig (else --context a,b, else the current one);
    /// every namespace the user may list, or only the one of -n
    #[arg(long)]
    pub all_contexts: bool,
    /// The port to serve on (0: any free port)
    #[arg(long, default_value_t = 2746)]
    pub port: u16,
    /// The address to serve on; anything but loopback lets other machines try the token
    #[arg(long, default_value = "127.0.0.1")]
    pub address: IpAddr,
    /// Print the URL; do not open a browser
    #[arg(long)]
    pub no_open: bool,
}

/// What every request handler shares.
pub struct App {
    hub: Arc<Hub>,
    conns: BTreeMap<String, std::result::Result<Conn, String>>,
}

impl App {
    /// The connection to `context`, acting in `namespace` ("": the context's own).
    fn conn(&self, context: &str, namespace: &str) -> std::result::Result<Conn, ApiError> {
        match self.conns.get(context) {
            Some(Ok(conn)) => {
                let mut conn = conn.clone();
                if !namespace.is_empty() {
                    conn.namespace = namespace.to_owned();
                }
                Ok(conn)
            }
            Some(Err(why)) => Err(ApiError(StatusCode::BAD_GATEWAY, why.clone())),
            None => Err(ApiError(StatusCode::NOT_FOUND, format!("context {context:?} is not shown in this UI"))),
        }
    }
}

pub fn router(app: Arc<App>, guard: Arc<Guard>) -> Router {
    let cluster = "/api/clusters/{context}/namespaces/{namespace}";
    Router::new()
        .route("/api/stream/workflows", get(stream::workflows))
        .route(&format!("{cluster}/workflows/{{name}}/stream"), get(stream::workflow))
        .route(&format!("{cluster}/workflows/{{name}}/{{action}}"), post(api::action))
        .route(&format!("{cluster}/pods/{{pod}}"), get(api::pod))
        .route(&format!("{cluster}/pods/{{pod}}/log"), get(stream::log))
        .route("/api/clusters/{context}/submit", post(api::submit))
        .route("/api/projects", get(api::projects))
        .fallback(assets::serve)
        .with_state(app)
        .layer(axum::middleware::from_fn_with_state(guard, guard::middleware))
}

fn chosen_contexts(args: &UiArgs, ctx: &Ctx, kc: &kube::config::Kubeconfig) -> Result<Vec<String>> {
    let contexts: Vec<String> = if args.all_contexts {
        cluster::context_names(kc)
    } else if let Some(list) = ctx.flags.context.as_deref() {
        list.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
    } else {
        kc.current_context.clone().into_iter().collect()
    };
    if contexts.is_empty() {
        return Err(Error::Usage("no context to show: the kubeconfig has no current context; use --context".into()));
    }
    Ok(contexts)
}

pub async fn run(args: UiArgs, ctx: &Ctx) -> Result<ExitCode> {
    let kc = ctx.kubeconfig()?;
    let contexts = chosen_contexts(&args, ctx, &kc)?;
    let hub = Hub::new(contexts.clone());
    let mut conns = BTreeMap::new();
    for context in &contexts {
        let conn = cluster::connect(&kc, Some(context), &ctx.flags, true).await;
        match &conn {
            Ok(conn) => {
                let all_namespaces = ctx.flags.namespace.is_none();
                tokio::spawn(hub::watch(hub.clone(), context.clone(), conn.clone(), all_namespaces));
            }
            Err(e) => hub.set_health(context, hub::Health::Unreachable, Some(e.to_string()), ""),
        }
        conns.insert(context.clone(), conn.map_err(|e| e.to_string()));
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.address, args.port)).await.map_err(|e| {
        Error::Other(format!(
            "cannot serve on {}:{}: {e}{}",
            args.address,
            args.port,
            if args.port != 0 {
                " (--port 0 picks a free port)"
            } else {
                ""
            }
        ))
    })?;
    let bound = listener.local_addr().map_err(|e| Error::Other(e.to_string()))?;
    let guard = Arc::new(Guard::new(
        Guard::random_token().map_err(|e| Error::Other(e.to_string()))?,
        bound.ip(),
        bound.port(),
    ));
    let host = if bound.ip().is_loopback() {
        "127.0.0.1".to_owned()
    } else {
        bound.ip().to_string()
    };
    let url = format!(
        "http://{}/?token={}",
        SocketAddr::new(host.parse().unwrap_or(bound.ip()), bound.port()),
        guard.token()
    );
    println!("Serving the argo UI for {} at {url}", contexts.join(", "));
    println!("Press Ctrl-C to stop.");
    if !args.no_open && !open_browser(&url) {
        println!("Could not open a browser: open the URL above.");
    }
    let app = Arc::new(App { hub, conns });
    axum::serve(listener, router(app, guard))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| Error::Other(format!("the UI server stopped: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// Opens `url` in the user's browser: $BROWSER, else the system's opener.
fn open_browser(url: &str) -> bool {
    let candidates: Vec<(String, Vec<String>)> = match std::env::var("BROWSER") {
        Ok(b) if !b.is_empty() => vec![(b, vec![url.to_owned()])],
        _ if cfg!(target_os = "macos") => vec![("open".into(), vec![url.to_owned()])],
        _ if cfg!(windows) => vec![("cmd".into(), vec!["/c".into(), "start".into(), String::new(), url.to_owned()])],
        _ => vec![("xdg-open".into(), vec![url.to_owned()])],
    };
    candidates.into_iter().any(|(cmd, args)| {
        std::process::Command::new(cmd)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;

    use super::*;

    fn app() -> Router {
        let hub = Hub::new(vec!["a".into()]);
        let conns = [("a".to_owned(), Err("no credentials for a".to_owned()))].into();
        let guard = Arc::new(Guard::new("tok".into(), "127.0.0.1".parse().unwrap(), 2746));
        router(Arc::new(App { hub, conns }), guard)
    }

    async fn send(method: &str, uri: &str, body: &str) -> (u16, String, axum::http::HeaderMap) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "127.0.0.1:2746")
            .header(header::COOKIE, "argo-ui-2746=tok")
            .header(header::ORIGIN, "http://127.0.0.1:2746")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let res = app().oneshot(req).await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned(), headers)
    }

    #[tokio::test]
    async fn pages_are_the_one_page_and_assets_are_served_with_a_policy() {
        let (status, body, headers) = send("GET", "/workflows/a/ns/wf?node=x", "").await;
        assert_eq!(status, 200);
        assert!(body.contains("/assets/app.js"));
        assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("script-src 'self'"));
        let (status, body, headers) = send("GET", "/assets/graph.js", "").await;
        assert_eq!((status, headers[header::CONTENT_TYPE].to_str().unwrap()), (200, "text/javascript; charset=utf-8"));
        assert!(body.contains("dagre"));
        assert_eq!(send("GET", "/assets/nope.js", "").await.0, 404);
        assert_eq!(send("GET", "/api/nope", "").await.0, 404);
    }

    #[tokio::test]
    async fn a_context_that_is_not_shown_or_cannot_connect_is_an_error_the_page_can_read() {
        let (status, body, _) = send("POST", "/api/clusters/zz/namespaces/n/workflows/w/retry", "{}").await;
        assert_eq!(status, 404);
        assert!(body.contains(r#"context \"zz\" is not shown"#), "{body}");
        let (status, body, _) = send("POST", "/api/clusters/a/namespaces/n/workflows/w/suspend", "{}").await;
        assert_eq!(status, 502);
        assert!(body.contains("no credentials for a"), "{body}");
        let (status, body, _) = send("POST", "/api/clusters/a/submit", r#"{"yaml": "kind: Workflow"}"#).await;
        assert_eq!(status, 502, "{body}");
    }

    #[tokio::test]
    async fn garbage_bodies_are_refused_not_panicked_on() {
        for body in ["", "nope", r#"{"parameters": {"a": 1}}"#, r#"{"parameters": 5}"#] {
            let (status, _, _) = send("POST", "/api/clusters/a/namespaces/n/workflows/w/retry", body).await;
            assert!((400..500).contains(&status), "{body}: {status}");
        }
    }
}
