//! `workflowTemplateRef` and `templateRef`, resolved into one plain spec.
//!
//! What a workflow references is read once, when it starts, and kept in
//! its status (`storedWorkflowTemplateSpec`, `storedTemplates`, as
//! upstream): every later reconcile rebuilds the same spec from them, so a
//! template edited mid-run does not change a running workflow. The engine,
//! the validator and the project rules then see one spec whose referenced
//! templates carry names no user template can have
//! (`namespaced/<WorkflowTemplate>/<template>`).

mod cycle;
mod merge;
mod source;

use std::collections::{BTreeMap, VecDeque};

use crate::Problem;
use crate::WorkflowStatus;
use crate::workflow::{Template, TemplateRef, Workflow, WorkflowSpec, WorkflowStep};

pub use source::{Documents, Found, NoTemplates, Source};

/// More templates than this pulled in by reference is refused: the
/// references come from users and must not exhaust whoever resolves them.
pub const MAX_REFERENCED: usize = 500;

/// The `storedTemplates` key (and resolved template name) of a reference.
pub fn key(cluster: bool, template_owner: &str, template: &str) -> String {
    let scope = if cluster { "cluster" } else { "namespaced" };
    format!("{scope}/{template_owner}/{template}")
}

/// The template's own name, for pod names: `namespaced/wt/main` -> `main`.
pub fn short_name(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A problem found in a resolved spec, placed where the user can find it:
/// inside a referenced template it names the template and its owner.
pub fn origin(resolved: &Workflow, mut p: Problem) -> Problem {
    let Some(rest) = p.path.strip_prefix("spec.templates[") else {
        return p;
    };
    let Some((index, tail)) = rest.split_once(']') else {
        return p;
    };
    let Some(t) = index.parse::<usize>().ok().and_then(|i| resolved.spec.templates.get(i)) else {
        return p;
    };
    if let [scope, owner, template] = t.name.splitn(3, '/').collect::<Vec<_>>()[..] {
        let tail = tail.trim_start_matches('.');
        let at = if tail.is_empty() {
            String::new()
        } else {
            format!(": {tail}")
        };
        p.path = format!("{} {owner:?}, template {template:?}{at}", kind(scope == "cluster"));
    }
    p
}

/// Whether the workflow references any template.
pub fn references(spec: &WorkflowSpec) -> bool {
    spec.workflow_template_ref.is_some() || spec.templates.iter().any(template_references)
}

fn template_references(t: &Template) -> bool {
    steps_of(t).any(|s| s.template_ref.is_some() || s.inline.as_deref().is_some_and(template_references))
}

fn steps_of(t: &Template) -> impl Iterator<Item = &WorkflowStep> {
    let steps = t.steps.iter().flatten().flatten();
    steps.chain(t.dag.iter().flat_map(|d| d.tasks.iter().map(|task| &task.step)))
}

fn steps_of_mut(t: &mut Template) -> impl Iterator<Item = (String, &mut WorkflowStep)> {
    let steps = t
        .steps
        .iter_mut()
        .flatten()
        .enumerate()
        .flat_map(|(i, group)| group.iter_mut().enumerate().map(move |(j, s)| (format!("steps[{i}][{j}]"), s)));
    let tasks = t
        .dag
        .iter_mut()
        .flat_map(|d| d.tasks.iter_mut().enumerate().map(|(i, task)| (format!("dag.tasks[{i}]"), &mut task.step)));
    steps.chain(tasks)
}

/// `wf` with every reference replaced by what it names: from `wf`'s
/// status when stored there, else from `source`. The result's status
/// holds what was used (store it, so later reconciles use the same).
pub fn resolve(wf: &Workflow, source: &dyn Source) -> Result<Workflow, Vec<Problem>> {
    let namespace = wf.metadata.namespace.as_deref().unwrap_or("default");
    let mut status = wf.status.clone().unwrap_or_default();
    let mut r = Resolver {
        namespace,
        source,
        stored: &status.stored_templates,
        used: BTreeMap::new(),
        queue: VecDeque::new(),
        problems: Vec::new(),
        specs: BTreeMap::new(),
        referenced_bytes: 0,
        looked_up_bytes: 0,
    };
    let mut spec = wf.spec.clone();
    for (i, t) in spec.templates.iter().enumerate() {
        if t.name.contains('/') {
            r.problems.push(Problem::new(
                format!("spec.templates[{i}].name"),
                format!("template name {:?} is invalid: '/' is reserved for referenced templates", t.name),
            ));
        }
    }
    let mut stored_spec = status.stored_workflow_template_spec.clone();
    if let Some(reference) = spec.workflow_template_ref.clone() {
        let cluster = reference.cluster_scope.unwrap_or(false);
        let base = match stored_spec.as_deref() {
            Some(s) => Some(s.clone()),
            None => r.owner_spec(cluster, &reference.name, "spec.workflowTemplateRef.name").filter(|spec| {
                // Stored whole in the status.
                let size = crate::limits::json_size(spec, crate::limits::MAX_REFERENCED_BYTES).unwrap_or(usize::MAX);
                r.count_referenced(size, "spec.workflowTemplateRef")
            }),
        };
        let Some(base) = base else { return Err(r.problems) };
        if base.workflow_template_ref.is_some() {
            r.problems.push(Problem::new(
                "spec.workflowTemplateRef",
                format!(
                    "{} {:?} itself has a workflowTemplateRef: a reference may not lead to another",
                    kind(cluster),
                    reference.name
                ),
            ));
            return Err(r.problems);
        }
        spec = merge::join(&spec, &base).map_err(|e| vec![Problem::new("spec.workflowTemplateRef", e)])?;
        stored_spec = Some(Box::new(base));
    }
    spec.workflow_template_ref = None;
    for (i, t) in spec.templates.iter_mut().enumerate() {
        r.rewrite(t, None, &format!("spec.templates[{i}]"));
    }
    while let Some((name, mut t, owner, path)) = r.queue.pop_front() {
        r.rewrite(&mut t, Some(&owner), &path);
        t.name = name;
        spec.templates.push(t);
    }
    if let Some(p) = cycle::unconditional(&spec) {
        r.problems.push(p);
    }
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    status.stored_templates = r.used;
    status.stored_workflow_template_spec = stored_spec;
    let keep = status != WorkflowStatus::default() || wf.status.is_some();
    Ok(Workflow {
        metadata: wf.metadata.clone(),
        spec,
        status: keep.then_some(status),
    })
}

fn kind(cluster: bool) -> &'static str {
    if cluster {
        "ClusterWorkflowTemplate"
    } else {
        "WorkflowTemplate"
    }
}

/// A template owner: which (Cluster)WorkflowTemplate a template came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Owner {
    cluster: bool,
    name: String,
}

struct Resolver<'a> {
    namespace: &'a str,
    source: &'a dyn Source,
    stored: &'a BTreeMap<String, Template>,
    /// Every referenced template, as found (unrewritten), by key.
    used: BTreeMap<String, Template>,
    queue: VecDeque<(String, Template, Owner, String)>,
    problems: Vec<Problem>,
    /// Owners looked up so far (None: not found).
    specs: BTreeMap<Owner, Option<WorkflowSpec>>,
    /// What will be stored in the status (taken from the source, not
    /// what an earlier pass stored), against `MAX_REFERENCED_BYTES`.
    referenced_bytes: usize,
    /// Every owner spec read, against `MAX_LOOKED_UP_BYTES`.
    looked_up_bytes: usize,
}

impl Resolver<'_> {
    /// Adds what a reference stores; false (and a problem, once) past the
    /// limit.
    fn count_referenced(&mut self, bytes: usize, path: &str) -> bool {
        use crate::limits::{MAX_REFERENCED_BYTES, bytes as size};
        self.referenced_bytes = self.referenced_bytes.saturating_add(bytes);
        if self.referenced_bytes <= MAX_REFERENCED_BYTES {
            return true;
        }
        if !self.problems.iter().any(|p| p.message.contains("a workflow may store")) {
            self.problems.push(Problem::new(
                path,
                format!(
                    "the templates this workflow references take more than the {} a workflow may store of them (its status keeps them: storedTemplates, storedWorkflowTemplateSpec): reference fewer or smaller templates",
                    size(MAX_REFERENCED_BYTES)
                ),
            ));
        }
        false
    }

    fn owner_spec(&mut self, cluster: bool, name: &str, path: &str) -> Option<WorkflowSpec> {
        self.owner(cluster, name, path).cloned()
    }

    /// The owner's spec, looked up once; borrowed, since a template is
    /// usually all that is wanted of a large one.
    fn owner(&mut self, cluster: bool, name: &str, path: &str) -> Option<&WorkflowSpec> {
        let owner = Owner {
            cluster,
            name: name.to_owned(),
        };
        if self.specs.contains_key(&owner) {
            return self.specs.get(&owner).and_then(Option::as_ref);
        }
        if self.looked_up_bytes > crate::limits::MAX_LOOKED_UP_BYTES {
            return None;
        }
        let found = match self.source.spec(cluster, self.namespace, name) {
            Found::Spec(s) => {
                use crate::limits::{MAX_LOOKED_UP_BYTES, bytes, json_size};
                let left = MAX_LOOKED_UP_BYTES.saturating_sub(self.looked_up_bytes);
                let size = json_size(&*s, left).unwrap_or(usize::MAX);
                self.looked_up_bytes = self.looked_up_bytes.saturating_add(size);
                if self.looked_up_bytes > MAX_LOOKED_UP_BYTES {
                    self.problems.push(Problem::new(
                        path,
                        format!(
                            "the templates this workflow's references name take more than {} together: reference fewer or smaller WorkflowTemplates",
                            bytes(MAX_LOOKED_UP_BYTES)
                        ),
                    ));
                    None
                } else {
                    Some(*s)
                }
            }
            Found::Missing => {
                let place = if cluster {
                    String::new()
                } else {
                    format!(" in namespace {:?}", self.namespace)
                };
                self.problems.push(Problem::new(path, format!("{} {name:?} not found{place}", kind(cluster))));
                None
            }
            Found::Refused(why) => {
                self.problems.push(Problem::new(path, why));
                None
            }
        };
        self.specs.entry(owner).or_insert(found).as_ref()
    }

    /// Points `t`'s steps and tasks at resolved names, queueing what they
    /// reference. Inside a referenced template (`owner`), a plain
    /// `template:` names a template of the same owner.
    fn rewrite(&mut self, t: &mut Template, owner: Option<&Owner>, path: &str) {
        let mut wanted = Vec::new();
        for (at, step) in steps_of_mut(t) {
            let at = format!("{path}.{at}");
            if let Some(inline) = step.inline.as_deref_mut() {
                self.rewrite(inline, owner, &format!("{at}.inline"));
            }
            if let Some(reference) = step.template_ref.take() {
                if step.template.is_some() || step.inline.is_some() {
                    self.problems
                        .push(Problem::new(format!("{at}.templateRef"), "set one of template, templateRef and inline"));
                }
                let key = key(reference.cluster_scope.unwrap_or(false), &reference.name, &reference.template);
                step.template = Some(key.clone());
                wanted.push((key, reference, format!("{at}.templateRef")));
            } else if let (Some(o), Some(name)) = (owner, step.template.as_mut()) {
                let reference = TemplateRef {
                    name: o.name.clone(),
                    template: name.clone(),
                    cluster_scope: Some(o.cluster),
                };
                *name = key(o.cluster, &o.name, &reference.template);
                wanted.push((name.clone(), reference, format!("{at}.template")));
            }
            if let (Some(o), Some(name)) = (owner, step.on_exit.as_mut()) {
                let reference = TemplateRef {
                    name: o.name.clone(),
                    template: name.clone(),
                    cluster_scope: Some(o.cluster),
                };
                *name = key(o.cluster, &o.name, &reference.template);
                wanted.push((name.clone(), reference, format!("{at}.onExit")));
            }
        }
        for (key, reference, at) in wanted {
            self.want(key, &reference, &at);
        }
    }

    fn want(&mut self, key: String, reference: &TemplateRef, path: &str) {
        if self.used.contains_key(&key) {
            return;
        }
        if self.used.len() >= MAX_REFERENCED {
            if !self.problems.iter().any(|p| p.message.contains("referenced templates")) {
                self.problems.push(Problem::new(
                    path,
                    format!("more than {MAX_REFERENCED} referenced templates: split the workflow"),
                ));
            }
            return;
        }
        let cluster = reference.cluster_scope.unwrap_or(false);
        let owner = Owner {
            cluster,
            name: reference.name.clone(),
        };
        let found = match self.stored.get(&key) {
            Some(t) => Some(t.clone()),
            None => self
                .owner(cluster, &reference.name, &format!("{path}.name"))
                .map(|spec| spec.templates.iter().find(|t| t.name == reference.template).cloned())
                .and_then(|t| {
                    let size = |t: &Template| {
                        crate::limits::json_size(t, crate::limits::MAX_REFERENCED_BYTES).unwrap_or(usize::MAX)
                    };
                    if let Some(found) = &t
                        && !self.count_referenced(size(found), path)
                    {
                        return None;
                    }
                    if t.is_none() {
                        self.problems.push(Problem::new(
                            format!("{path}.template"),
                            format!(
                                "template {:?} not found in {} {:?}",
                                reference.template,
                                kind(cluster),
                                reference.name
                            ),
                        ));
                    }
                    t
                }),
        };
        if let Some(t) = found {
            self.used.insert(key.clone(), t.clone());
            let at = format!("{} {}: templates[{:?}]", kind(cluster), reference.name, reference.template);
            self.queue.push_back((key, t, owner, at));
        }
    }
}

#[cfg(test)]
mod tests;
