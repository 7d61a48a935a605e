//! Glob lists: `*` and `?` wildcards; an entry starting with `!` denies.
//! A value is allowed when some allow entry matches and no deny entry does.

use wildmatch::WildMatch;

pub struct Globs {
    allow: Vec<WildMatch>,
    deny: Vec<WildMatch>,
}

impl Globs {
    pub fn new(patterns: &[String]) -> Globs {
        let (deny, allow): (Vec<&String>, Vec<&String>) = patterns.iter().partition(|p| p.starts_with('!'));
        Globs {
            allow: allow.into_iter().map(|p| WildMatch::new(p)).collect(),
            deny: deny.into_iter().map(|p| WildMatch::new(&p[1..])).collect(),
        }
    }

    pub fn allows(&self, value: &str) -> bool {
        self.allow.iter().any(|g| g.matches(value)) && !self.deny.iter().any(|g| g.matches(value))
    }
}

/// How specific a pattern is for `value`: exact names beat globs, and
/// globs with more literal characters beat shorter ones.
pub fn specificity(pattern: &str) -> (bool, usize) {
    let literal = pattern.chars().filter(|c| !matches!(c, '*' | '?')).count();
    (!pattern.contains(['*', '?']), literal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &[&str]) -> Globs {
        Globs::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn allow_and_deny() {
        let images = g(&["docker.io/library/*", "ghcr.io/acme/*", "!*:latest"]);
        assert!(images.allows("docker.io/library/alpine:3.19"));
        assert!(!images.allows("docker.io/library/alpine:latest"));
        assert!(!images.allows("quay.io/x/y:1"));
        assert!(g(&["team-?"]).allows("team-a"));
        assert!(!g(&["!x"]).allows("y"), "deny-only lists allow nothing");
    }

    #[test]
    fn exact_names_are_more_specific_than_globs() {
        assert!(specificity("team-a") > specificity("team-*"));
        assert!(specificity("team-*") > specificity("*"));
    }
}
