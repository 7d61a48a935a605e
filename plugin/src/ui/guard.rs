//! Who may use the UI: it acts with the user's own credentials, so only
//! the browser the user opened may drive it. A random token in the printed
//! URL becomes a cookie for this port; the Host header must name the
//! server itself (a DNS-rebinding page names its own host); anything that
//! changes state must come from this origin (no cross-site form posts).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

#[derive(Clone, Debug)]
pub struct Guard {
    token: String,
    cookie: String,
    hosts: Vec<String>,
}

impl Guard {
    /// `port` is the bound port; `address` the bound address.
    pub fn new(token: String, address: std::net::IpAddr, port: u16) -> Guard {
        let own = match address {
            std::net::IpAddr::V6(a) => format!("[{a}]:{port}"),
            std::net::IpAddr::V4(a) => format!("{a}:{port}"),
        };
        let mut hosts = vec![own, format!("localhost:{port}")];
        if address.is_loopback() {
            hosts.extend([format!("127.0.0.1:{port}"), format!("[::1]:{port}")]);
        }
        hosts.dedup();
        Guard {
            token,
            cookie: format!("argo-ui-{port}"),
            hosts,
        }
    }

    /// A token of 32 random bytes, hex.
    pub fn random_token() -> std::io::Result<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn token(&self) -> &str {
        &self.token
    }

    fn same(a: &str, b: &str) -> bool {
        // Constant time: the token must not leak through timing.
        a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    fn cookie_token<'a>(&self, headers: &'a HeaderMap) -> Option<&'a str> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == self.cookie)
            .map(|(_, v)| v)
    }

    /// What to do with a request: let it through, or answer it here.
    pub fn decide(&self, method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> Option<Response> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
        if !self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)) {
            return Some(refuse(StatusCode::FORBIDDEN, &format!("this server answers only as {}", self.hosts[0])));
        }
        let from_here = |v: &str| v == format!("http://{host}");
        let origin = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok());
        let fetch_site = headers.get("sec-fetch-site").and_then(|h| h.to_str().ok());
        let changes = !matches!(*method, Method::GET | Method::HEAD);
        if origin.is_some_and(|o| !from_here(o)) || (changes && !origin.is_some_and(from_here)) {
            return Some(refuse(StatusCode::FORBIDDEN, "requests from other origins are refused"));
        }
        if changes && fetch_site.is_some_and(|s| s != "same-origin") {
            return Some(refuse(StatusCode::FORBIDDEN, "requests from other sites are refused"));
        }
        let query_token = uri.query().into_iter().flat_map(|q| q.split('&')).find_map(|kv| kv.strip_prefix("token="));
        if let Some(given) = query_token {
            if !Self::same(given, &self.token) {
                return Some(refuse(StatusCode::UNAUTHORIZED, "this link's token is not this server's"));
            }
            // Keep the token out of the address bar, history and shared links.
            let rest: Vec<&str> =
                uri.query().into_iter().flat_map(|q| q.split('&')).filter(|kv| !kv.starts_with("token=")).collect();
            let location = if rest.is_empty() {
                uri.path().to_owned()
            } else {
                format!("{}?{}", uri.path(), rest.join("&"))
            };
            let cookie = format!("{}={}; Path=/; HttpOnly; SameSite=Strict", self.cookie, self.token);
            return Some(
                (StatusCode::SEE_OTHER, [(header::LOCATION, location), (header::SET_COOKIE, cookie)]).into_response(),
            );
        }
        match self.cookie_token(headers) {
            Some(t) if Self::same(t, &self.token) => None,
            _ => Some(refuse(
                StatusCode::UNAUTHORIZED,
                "open the link that `kubectl argo ui` printed (it carries this server's token)",
            )),
        }
    }
}

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{why}\n")).into_response()
}

pub async fn middleware(State(guard): State<std::sync::Arc<Guard>>, req: Request, next: Next) -> Response {
    match guard.decide(req.method(), req.uri(), req.headers()) {
        Some(answer) => answer,
        None => next.run(req).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        Guard::new("t0k3n".into(), "127.0.0.1".parse().unwrap(), 8080)
    }

    fn ask(method: Method, uri: &str, headers: &[(&str, &str)]) -> Option<Response> {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        guard().decide(&method, &uri.parse().unwrap(), &map)
    }

    fn status(r: Option<Response>) -> u16 {
        r.map(|r| r.status().as_u16()).unwrap_or(200)
    }

    const HOST: (&str, &str) = ("host", "127.0.0.1:8080");
    const COOKIE: (&str, &str) = ("cookie", "other=1; argo-ui-8080=t0k3n");

    #[test]
    fn the_token_in_the_link_becomes_a_cookie_and_leaves_the_address() {
        let r = ask(Method::GET, "/workflows?phase=Failed&token=t0k3n", &[HOST]).unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/workflows?phase=Failed");
        let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(
            cookie.starts_with("argo-ui-8080=t0k3n;")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
        );
        assert_eq!(status(ask(Method::GET, "/?token=wrong", &[HOST])), 401);
        assert_eq!(status(ask(Method::GET, "/?token=t0k3", &[HOST])), 401);
    }

    #[test]
    fn without_the_cookie_nothing_is_served() {
        assert_eq!(status(ask(Method::GET, "/api/stream/workflows", &[HOST])), 401);
        assert_eq!(status(ask(Method::GET, "/", &[HOST, ("cookie", "argo-ui-8080=nope")])), 401);
        assert_eq!(status(ask(Method::GET, "/", &[HOST, ("cookie", "argo-ui-9090=t0k3n")])), 401);
        assert_eq!(status(ask(Method::GET, "/", &[HOST, COOKIE])), 200);
        assert_eq!(status(ask(Method::GET, "/", &[("host", "localhost:8080"), COOKIE])), 200);
    }

    #[test]
    fn another_host_name_is_refused_even_with_the_token() {
        // DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name.
        assert_eq!(status(ask(Method::GET, "/", &[("host", "evil.example:8080"), COOKIE])), 403);
        assert_eq!(status(ask(Method::GET, "/?token=t0k3n", &[("host", "evil.example:8080")])), 403);
        assert_eq!(status(ask(Method::GET, "/", &[COOKIE])), 403);
        assert_eq!(status(ask(Method::GET, "/", &[("host", "127.0.0.1:9999"), COOKIE])), 403);
    }

    #[test]
    fn changes_come_only_from_this_origin() {
        let post = |extra: &[(&str, &str)]| {
            let mut h = vec![HOST, COOKIE];
            h.extend_from_slice(extra);
            status(ask(Method::POST, "/api/x", &h))
        };
        assert_eq!(post(&[("origin", "http://127.0.0.1:8080")]), 200);
        assert_eq!(post(&[]), 403, "no Origin");
        assert_eq!(post(&[("origin", "http://evil.example")]), 403);
        assert_eq!(post(&[("origin", "null")]), 403);
        assert_eq!(post(&[("origin", "http://127.0.0.1:8080"), ("sec-fetch-site", "cross-site")]), 403);
        assert_eq!(status(ask(Method::GET, "/", &[HOST, COOKIE, ("origin", "http://evil.example")])), 403);
    }

    #[test]
    fn tokens_are_random() {
        let (a, b) = (Guard::random_token().unwrap(), Guard::random_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
