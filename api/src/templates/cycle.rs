//! Templates that call themselves with no condition on the way never end:
//! upstream would run them until the workflow hits a limit; here they are
//! refused up front (a recursion with a `when`, a loop over a parameter or a
//! `depends` may stop, and is allowed).

use std::collections::BTreeMap;

use crate::Problem;
use crate::workflow::{Template, WorkflowSpec, WorkflowStep};

pub(super) fn unconditional(spec: &WorkflowSpec) -> Option<Problem> {
    let index: BTreeMap<&str, usize> = spec.templates.iter().enumerate().map(|(i, t)| (t.name.as_str(), i)).collect();
    let edges: Vec<Vec<usize>> = spec
        .templates
        .iter()
        .map(|t| {
            let mut out = Vec::new();
            calls(t, &mut |name| {
                if let Some(&j) = index.get(name) {
                    out.push(j);
                }
            });
            out
        })
        .collect();
    // Iterative depth-first search; 0 unseen, 1 on the path, 2 done.
    let mut state = vec![0u8; edges.len()];
    for root in 0..edges.len() {
        if state[root] != 0 {
            continue;
        }
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (node, ref mut next)) = path.last_mut() {
            if let Some(&child) = edges[node].get(*next) {
                *next += 1;
                match state[child] {
                    0 => {
                        state[child] = 1;
                        path.push((child, 0));
                    }
                    1 => {
                        let start = path.iter().position(|(n, _)| *n == child).unwrap_or(0);
                        let names: Vec<&str> = path[start..]
                            .iter()
                            .chain([&(child, 0)])
                            .map(|(n, _)| spec.templates[*n].name.as_str())
                            .collect();
                        let first = path[start].0;
                        return Some(Problem::new(
                            format!("spec.templates[{first}]"),
                            format!(
                                "reference cycle without a condition: {}: it would never end (give a step on the way a `when`)",
                                names.join(" -> ")
                            ),
                        ));
                    }
                    _ => {}
                }
            } else {
                state[node] = 2;
                path.pop();
            }
        }
    }
    None
}

/// The templates `t` always calls (through inline templates too).
fn calls(t: &Template, out: &mut dyn FnMut(&str)) {
    let steps = t.steps.iter().flatten().flatten();
    let tasks = t
        .dag
        .iter()
        .flat_map(|d| d.tasks.iter().filter(|task| task.depends.is_none()).map(|task| &task.step));
    for step in steps.chain(tasks) {
        if !always(step) {
            continue;
        }
        if let Some(name) = step.template.as_deref() {
            out(name);
        }
        if let Some(inline) = step.inline.as_deref() {
            calls(inline, out);
        }
    }
}

fn always(step: &WorkflowStep) -> bool {
    let l = &step.looping;
    step.when.is_none()
        && l.with_param.is_none()
        && l.with_sequence.is_none()
        && l.with_items.as_ref().is_none_or(|i| !i.is_empty())
}
