//! Container image references, parsed and normalized the way the container
//! runtime reads them (`alpine` is `docker.io/library/alpine:latest`), and
//! the project patterns matched against them part by part, so that
//! `alpine:*` never matches `alpine:5000/evil/miner:1` (registry `alpine:5000`)
//! and `*:latest` catches an untagged image.

use wildmatch::WildMatch;

const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// `docker.io`, `ghcr.io`, `localhost:5000`.
    pub registry: String,
    /// `library/alpine`, `acme/app`.
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Image {
    /// `registry/repository`, the name patterns match.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag the runtime pulls: the given one, else `latest` unless the
    /// image is pinned by digest alone.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(t), _) => Some(t),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }
}

impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The parts of `[registry/]path[:tag][@digest]`, not yet checked.
struct Parts<'a> {
    /// Everything before the tag and digest.
    name: &'a str,
    registry: Option<&'a str>,
    path: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
}

fn split(s: &str) -> Parts<'_> {
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let (registry, path) = match name.split_once('/') {
        Some((first, path)) if first.contains(['.', ':']) || first == "localhost" => (Some(first), path),
        _ => (None, name),
    };
    Parts {
        name,
        registry,
        path,
        tag,
        digest,
    }
}

/// The repository under the default registry: `alpine` is `library/alpine`.
fn normalized_path(registry: Option<&str>, path: &str) -> String {
    match registry {
        None if !path.contains('/') => format!("library/{path}"),
        _ => path.to_owned(),
    }
}

/// Parses an image reference; the error says what is wrong with it.
pub fn parse(s: &str) -> Result<Image, String> {
    if s.is_empty() {
        return Err("the image is empty".into());
    }
    if s.len() > 512 {
        return Err("the image reference is longer than 512 characters".into());
    }
    let p = split(s);
    if let Some(r) = p.registry
        && !valid_registry(r)
    {
        return Err(format!("registry {r:?} is not a host name with an optional port"));
    }
    if p.path.is_empty() || !p.path.split('/').all(valid_component) {
        return Err(format!(
            "repository {:?} must be lowercase letters, digits and separators (. _ -) in components split by /",
            p.path
        ));
    }
    if let Some(t) = p.tag
        && !valid_tag(t)
    {
        return Err(format!("tag {t:?} must be 1-128 letters, digits, _ . or - (not starting with . or -)"));
    }
    if let Some(d) = p.digest
        && !valid_digest(d)
    {
        return Err(format!("digest {d:?} must be algorithm:hex, e.g. sha256:<64 hex digits>"));
    }
    Ok(Image {
        registry: p.registry.map_or(DEFAULT_REGISTRY.to_owned(), |r| {
            if r == "index.docker.io" {
                DEFAULT_REGISTRY.to_owned()
            } else {
                r.to_owned()
            }
        }),
        repository: normalized_path(p.registry, p.path),
        tag: p.tag.map(str::to_owned),
        digest: p.digest.map(str::to_owned),
    })
}

fn valid_registry(r: &str) -> bool {
    let (host, port) = match r.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || r.starts_with('[') => (h, Some(p)),
        _ => (r, None),
    };
    let host_ok = !host.is_empty()
        && (host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            || (host.starts_with('[') && host.ends_with(']')));
    host_ok && port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.chars().all(|c| c.is_ascii_digit()))
}

fn valid_component(c: &str) -> bool {
    let sep = |ch: char| matches!(ch, '.' | '_' | '-');
    !c.is_empty()
        && c.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || sep(ch))
        && !c.starts_with(sep)
        && !c.ends_with(sep)
}

fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && !t.starts_with(['.', '-'])
        && t.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn valid_digest(d: &str) -> bool {
    let Some((algorithm, hex)) = d.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && algorithm.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
        && hex.len() >= 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// A project's image pattern: `NAME[:TAG][@DIGEST]`, each part a glob
/// (`*` and `?`). NAME is normalized like an image (`alpine` means
/// `docker.io/library/alpine`) unless it starts with a wildcard, in which
/// case it is matched against the full `registry/repository`. A pattern
/// without a tag matches any tag; `:*` matches images pinned by digest too.
#[derive(Debug)]
pub struct Pattern {
    name: WildMatch,
    tag: Option<(String, WildMatch)>,
    digest: Option<WildMatch>,
}

impl Pattern {
    pub fn parse(s: &str) -> Result<Pattern, String> {
        if s.trim().is_empty() || s.contains(char::is_whitespace) {
            return Err("a pattern must not be empty or contain spaces".into());
        }
        let p = split(s);
        if p.path.is_empty() {
            return Err("the pattern has no repository part (use * for any)".into());
        }
        let name = if s.starts_with(['*', '?']) {
            p.name.to_owned()
        } else {
            let registry = p.registry.unwrap_or(DEFAULT_REGISTRY);
            format!("{registry}/{}", normalized_path(p.registry, p.path))
        };
        Ok(Pattern {
            name: WildMatch::new(&name),
            tag: p.tag.map(|t| (t.to_owned(), WildMatch::new(t))),
            digest: p.digest.map(WildMatch::new),
        })
    }

    pub fn matches(&self, image: &Image) -> bool {
        if !self.name.matches(&image.name()) {
            return false;
        }
        let tag_ok = match (&self.tag, image.effective_tag()) {
            (None, _) => true,
            (Some((raw, _)), None) => raw == "*",
            (Some((_, glob)), Some(t)) => glob.matches(t),
        };
        let digest_ok = match (&self.digest, &image.digest) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(glob), Some(d)) => glob.matches(d),
        };
        tag_ok && digest_ok
    }
}

/// A list of patterns, `!` marking the ones that deny: an image is allowed
/// when some allow pattern matches it and no deny pattern does.
#[derive(Debug)]
pub struct Patterns {
    allow: Vec<Pattern>,
    deny: Vec<Pattern>,
}

impl Patterns {
    /// The patterns; ones that do not parse are left out (a project's
    /// validation reports them), which only ever allows less.
    pub fn new(list: &[String]) -> Patterns {
        let mut out = Patterns {
            allow: vec![],
            deny: vec![],
        };
        for p in list {
            match p.strip_prefix('!') {
                Some(deny) => out.deny.extend(Pattern::parse(deny).ok()),
                None => out.allow.extend(Pattern::parse(p).ok()),
            }
        }
        out
    }

    pub fn allows(&self, image: &Image) -> bool {
        self.allow.iter().any(|p| p.matches(image)) && !self.deny.iter().any(|p| p.matches(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(patterns: &[&str], image: &str) -> bool {
        let list: Vec<String> = patterns.iter().map(|s| s.to_string()).collect();
        Patterns::new(&list).allows(&parse(image).unwrap_or_else(|e| panic!("{image}: {e}")))
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn references_normalize_like_the_runtime() {
        let i = parse("alpine").unwrap();
        assert_eq!((i.name(), i.effective_tag()), ("docker.io/library/alpine".into(), Some("latest")));
        let i = parse("alpine:5000/evil/miner:1").unwrap();
        assert_eq!(
            (i.registry.as_str(), i.repository.as_str(), i.tag.as_deref()),
            ("alpine:5000", "evil/miner", Some("1"))
        );
        let i = parse(&format!("ghcr.io/acme/app@{DIGEST}")).unwrap();
        assert_eq!((i.name(), i.effective_tag()), ("ghcr.io/acme/app".into(), None));
        assert_eq!(parse("localhost/x").unwrap().registry, "localhost");
        assert_eq!(parse("index.docker.io/library/busybox:1").unwrap().name(), "docker.io/library/busybox");
        assert_eq!(parse("acme/app:v1").unwrap().name(), "docker.io/acme/app");
    }

    #[test]
    fn bad_references_say_why() {
        for bad in [
            "",
            "Alpine",
            "evil.example/miner:1{{x}}",
            "a:b:c",
            "a@sha256:12",
            "a//b",
            "a b",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn patterns_match_parts_not_strings() {
        assert!(allows(&["alpine:*"], "alpine:3.19"));
        assert!(allows(&["alpine:*"], "docker.io/library/alpine:3"));
        assert!(
            !allows(&["alpine:*"], "alpine:5000/evil/miner:1"),
            "registry alpine:5000 is not Docker Hub's alpine"
        );
        assert!(allows(&["alpine*"], "alpine"));
        assert!(allows(&["ghcr.io/acme/*"], "ghcr.io/acme/app:1"));
        assert!(!allows(&["ghcr.io/acme/*"], "ghcr.io/acmeevil/app:1"));
        assert!(allows(&["*"], "quay.io/anything:1"));
        assert!(allows(&["*/miner"], "evil.example/miner"));
    }

    #[test]
    fn latest_is_what_the_runtime_pulls() {
        let p = ["*", "!*:latest"];
        assert!(!allows(&p, "ubuntu"), "an untagged image is :latest");
        assert!(!allows(&p, &format!("app:latest@{DIGEST}")));
        assert!(allows(&p, "ubuntu:22.04"));
        assert!(allows(&p, &format!("app@{DIGEST}")), "pinned by digest alone has no tag");
        assert!(allows(&["alpine:*"], &format!("alpine@{DIGEST}")));
        assert!(!allows(&["alpine:3*"], &format!("alpine@{DIGEST}")));
        assert!(allows(&["*@sha256:*"], &format!("app@{DIGEST}")));
        assert!(!allows(&["*@sha256:*"], "app:1"), "a digest pattern requires a digest");
    }
}
