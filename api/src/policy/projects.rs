//! The WorkflowProjects a decision is made against, and the one a
//! namespace selects: the most specific project whose `namespaces` allow it
//! (an exact name beats a glob, a longer glob a shorter one). Nothing else
//! chooses; a workflow's project label can only repeat the choice.

use serde_json::Value;

use super::globs::{Globs, specificity};
use crate::project::DEFAULT_PROJECT;
use crate::{Problem, WorkflowProject, load};

/// One project as stored, parsed or not. A project that does not parse is
/// kept: the namespaces it names must fail closed, not fall through to a
/// laxer project.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    namespaces: Vec<String>,
    parsed: Result<WorkflowProject, String>,
}

#[derive(Clone, Debug, Default)]
pub struct Projects {
    entries: Vec<Entry>,
}

impl Projects {
    pub fn new(projects: impl IntoIterator<Item = WorkflowProject>) -> Projects {
        let mut entries: Vec<Entry> = projects
            .into_iter()
            .map(|p| Entry {
                name: p.metadata.name.clone().unwrap_or_default(),
                namespaces: p.spec.namespaces.clone(),
                parsed: Ok(p),
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Projects { entries }
    }

    /// From WorkflowProject objects as the API serves them, each parsed
    /// strictly (an unknown field would be a rule silently not enforced).
    pub fn from_objects<'a>(objects: impl IntoIterator<Item = &'a Value>) -> Projects {
        let mut entries: Vec<Entry> = objects
            .into_iter()
            .map(|v| {
                let name = v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
                let namespaces = v
                    .pointer("/spec/namespaces")
                    .and_then(Value::as_array)
                    .map(|l| l.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
                let parsed = load::workflow_project(v).map_err(|e| e.to_string());
                Entry {
                    name,
                    namespaces,
                    parsed,
                }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Projects { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The project of `namespace`, or why there is none usable.
    pub fn select(&self, namespace: &str) -> Result<&WorkflowProject, Problem> {
        let best = self
            .entries
            .iter()
            .filter(|e| Globs::new(&e.namespaces).allows(namespace))
            .filter_map(|e| {
                let rank = e
                    .namespaces
                    .iter()
                    .filter(|pat| !pat.starts_with('!') && wildmatch::WildMatch::new(pat).matches(namespace))
                    .map(|pat| specificity(pat))
                    .max()?;
                Some((rank, e))
            })
            // Most specific first; among equals, the first name in order.
            .max_by(|(a, ea), (b, eb)| a.cmp(b).then_with(|| eb.name.cmp(&ea.name)))
            .map(|(_, e)| e);
        match best {
            Some(Entry { parsed: Ok(p), .. }) => Ok(p),
            Some(Entry {
                name, parsed: Err(why), ..
            }) => Err(Problem::new(
                "metadata.namespace",
                format!("namespace {namespace:?} belongs to WorkflowProject {name:?}, which is invalid: {why}"),
            )),
            None => Err(Problem::new(
                "metadata.namespace",
                format!(
                    "no WorkflowProject covers namespace {namespace:?}{}",
                    if self.entries.iter().any(|e| e.name == DEFAULT_PROJECT) {
                        ""
                    } else {
                        " (the install's \"default\" project, which covers every namespace, does not exist)"
                    }
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::WorkflowProjectSpec;

    fn project(name: &str, namespaces: &[&str]) -> WorkflowProject {
        WorkflowProject::new(
            name,
            WorkflowProjectSpec {
                namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        )
    }

    fn pick(ps: &Projects, ns: &str) -> Option<String> {
        ps.select(ns).ok().and_then(|p| p.metadata.name.clone())
    }

    #[test]
    fn the_most_specific_project_wins() {
        let ps = Projects::new(vec![
            project("default", &["*"]),
            project("teams", &["team-*"]),
            project("team-a", &["team-a"]),
            project("not-prod", &["team-*", "!team-prod"]),
        ]);
        assert_eq!(pick(&ps, "team-a").as_deref(), Some("team-a"));
        assert_eq!(pick(&ps, "team-b").as_deref(), Some("not-prod"), "ties go to the first name");
        assert_eq!(pick(&ps, "team-prod").as_deref(), Some("teams"));
        assert_eq!(pick(&ps, "other").as_deref(), Some("default"));
    }

    #[test]
    fn no_project_and_a_denying_default_fail_closed() {
        let ps = Projects::new(vec![project("teams", &["team-*"])]);
        let e = ps.select("other").unwrap_err();
        assert!(e.message.contains("no WorkflowProject covers namespace \"other\""), "{e}");
        assert!(e.message.contains("\"default\" project"), "{e}");
        let ps = Projects::new(vec![project("default", &["*", "!kube-system"])]);
        assert!(ps.select("kube-system").is_err(), "a deny in the default project holds");
    }

    #[test]
    fn an_invalid_project_refuses_its_namespaces_instead_of_falling_through() {
        let objects = [
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "default"},
                   "spec": {"namespaces": ["*"]}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "team-a"},
                   "spec": {"namespaces": ["team-a"], "imagez": ["ghcr.io/acme/*"]}}),
        ];
        let ps = Projects::from_objects(&objects);
        let e = ps.select("team-a").unwrap_err();
        assert!(e.message.contains("belongs to WorkflowProject \"team-a\", which is invalid"), "{e}");
        assert!(e.message.contains("imagez"), "{e}");
        assert_eq!(pick(&ps, "team-b").as_deref(), Some("default"));
    }
}
