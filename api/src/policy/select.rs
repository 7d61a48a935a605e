//! Which project a namespace's workflows belong to.

use super::globs::{Globs, specificity};
use crate::WorkflowProject;
use crate::project::PROJECT_LABEL;

/// The most specific project whose namespaces allow `namespace`; the
/// project named `default_name` when none does (and it exists).
pub fn select_project<'a>(
    projects: &'a [WorkflowProject],
    namespace: &str,
    default_name: &str,
) -> Option<&'a WorkflowProject> {
    projects
        .iter()
        .filter(|p| Globs::new(&p.spec.namespaces).allows(namespace))
        .filter_map(|p| {
            let best = p
                .spec
                .namespaces
                .iter()
                .filter(|pat| !pat.starts_with('!') && wildmatch::WildMatch::new(pat).matches(namespace))
                .map(|pat| specificity(pat))
                .max()?;
            Some((best, p))
        })
        // Most specific first; among equals, the first name in order.
        .max_by(|(a, pa), (b, pb)| a.cmp(b).then_with(|| name(pb).cmp(name(pa))))
        .map(|(_, p)| p)
        .or_else(|| projects.iter().find(|p| name(p) == default_name))
}

fn name(p: &WorkflowProject) -> &str {
    p.metadata.name.as_deref().unwrap_or_default()
}

/// The project a workflow names in its label, or the one its namespace
/// selects (falling back to `default_name`, usually `default`).
pub fn project_for<'a>(
    projects: &'a [WorkflowProject],
    labels: Option<&std::collections::BTreeMap<String, String>>,
    namespace: &str,
    default_name: &str,
) -> Option<&'a WorkflowProject> {
    match labels.and_then(|l| l.get(PROJECT_LABEL)) {
        Some(label) => projects.iter().find(|p| name(p) == label),
        None => select_project(projects, namespace, default_name),
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn the_most_specific_project_wins_and_default_catches_the_rest() {
        let ps = vec![
            project("default", &["*"]),
            project("teams", &["team-*"]),
            project("team-a", &["team-a"]),
            project("not-prod", &["team-*", "!team-prod"]),
        ];
        let pick = |ns: &str| select_project(&ps, ns, "default").and_then(|p| p.metadata.name.clone());
        assert_eq!(pick("team-a").as_deref(), Some("team-a"));
        assert_eq!(pick("team-b").as_deref(), Some("not-prod"), "ties go to the first name");
        assert_eq!(pick("team-prod").as_deref(), Some("teams"));
        assert_eq!(pick("other").as_deref(), Some("default"));
        assert!(select_project(&ps[1..2], "other", "default").is_none());
    }
}
