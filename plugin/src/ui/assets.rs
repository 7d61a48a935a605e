//! The page's files, built into the binary: the UI works offline and needs
//! no toolchain but cargo. Any path that is not a file or the API gets the
//! page itself, which routes in the browser (shared links, back button).

use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

/// (path under /assets/, content type, body)
const FILES: &[(&str, &str, &str)] = &[
    ("app.css", "text/css", include_str!("assets/app.css")),
    ("app.js", "text/javascript", include_str!("assets/app.js")),
    ("store.js", "text/javascript", include_str!("assets/store.js")),
    ("util.js", "text/javascript", include_str!("assets/util.js")),
    ("list.js", "text/javascript", include_str!("assets/list.js")),
    ("workflow.js", "text/javascript", include_str!("assets/workflow.js")),
    ("graph.js", "text/javascript", include_str!("assets/graph.js")),
    ("node.js", "text/javascript", include_str!("assets/node.js")),
    ("submit.js", "text/javascript", include_str!("assets/submit.js")),
    ("projects.js", "text/javascript", include_str!("assets/projects.js")),
    ("vendor/dagre-3.1.3.esm.js", "text/javascript", include_str!("assets/vendor/dagre-3.1.3.esm.js")),
    ("vendor/dagre-3.1.3.LICENSE", "text/plain", include_str!("assets/vendor/dagre-3.1.3.LICENSE")),
];

const INDEX: &str = include_str!("assets/index.html");

/// The page may load only its own files and talk only to its own server:
/// workflow names, messages and logs are never code, even if they try.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                      connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn headers(content_type: &str) -> [(header::HeaderName, String); 4] {
    [
        (header::CONTENT_TYPE, format!("{content_type}; charset=utf-8")),
        (header::CACHE_CONTROL, "no-cache".to_owned()),
        (header::CONTENT_SECURITY_POLICY, POLICY.to_owned()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
    ]
}

pub async fn serve(uri: Uri) -> Response {
    let path = uri.path();
    if let Some(file) = path.strip_prefix("/assets/") {
        return match FILES.iter().find(|(p, _, _)| *p == file) {
            Some((_, ty, body)) => (headers(ty), *body).into_response(),
            None => (StatusCode::NOT_FOUND, "no such file\n").into_response(),
        };
    }
    if path.starts_with("/api/") {
        return (StatusCode::NOT_FOUND, "no such endpoint\n").into_response();
    }
    (headers("text/html"), INDEX).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        for (_, _, body) in FILES.iter().chain([&("index", "", INDEX)]) {
            for line in body.lines().filter(|l| l.contains(" from \"./") || l.contains("src=\"/assets/")) {
                let target =
                    line.split(['"', '\'']).find(|s| s.starts_with("./") || s.starts_with("/assets/")).unwrap();
                let name = target.trim_start_matches("./").trim_start_matches("/assets/");
                assert!(FILES.iter().any(|(p, _, _)| *p == name), "{name} is imported but not served");
            }
        }
    }
}
