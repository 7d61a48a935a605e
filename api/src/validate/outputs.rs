//! Checks of a template's `outputs` and of the names the executor
//! reserves in every pod.

use std::collections::BTreeSet;

use super::names::check_parameter_name;
use crate::Problem;
use crate::executor::{INIT_CONTAINER, VOLUME};
use k8s_openapi::api::core::v1::Volume;

use crate::workflow::{Outputs, Parameter, Template, TemplateKind};

pub(crate) fn check(path: &str, t: &Template, p: &mut Vec<Problem>) {
    let Some(outputs) = &t.outputs else { return };
    if outputs.result.is_some() || outputs.exit_code.is_some() {
        p.push(Problem::new(
            format!("{path}.outputs"),
            "result and exitCode are written by the controller, not set in a template",
        ));
    }
    let mut seen = BTreeSet::new();
    for (i, param) in outputs.parameters.iter().enumerate() {
        let ppath = format!("{path}.outputs.parameters[{i}]");
        if let Err(e) = check_parameter_name(&param.name) {
            p.push(Problem::new(format!("{ppath}.name"), e));
        }
        if !seen.insert(param.name.as_str()) {
            p.push(Problem::new(ppath.clone(), format!("output parameter {:?} is declared twice", param.name)));
        }
        if let Some(why) = source_problem(param, t.kind()) {
            p.push(Problem::new(ppath.clone(), why));
        }
        if let Some(g) = &param.global_name
            && let Err(e) = check_parameter_name(g)
        {
            p.push(Problem::new(format!("{ppath}.globalName"), e));
        }
    }
}

/// Where an output parameter's value may come from in a template of `kind`.
fn source_problem(param: &Parameter, kind: Option<TemplateKind>) -> Option<String> {
    let Some(from) = &param.value_from else {
        return Some(
            "an output parameter needs valueFrom (path in a container or script, parameter or expression in steps or a DAG)".into(),
        );
    };
    let pod = matches!(kind, Some(TemplateKind::Container | TemplateKind::Script));
    let nested = matches!(kind, Some(TemplateKind::Steps | TemplateKind::Dag));
    let sources = [
        from.path.is_some(),
        from.parameter.is_some(),
        from.expression.is_some(),
        from.supplied.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        return Some("valueFrom takes one of path, parameter, expression or supplied".into());
    }
    match (&from.path, &from.parameter, &from.expression, &from.supplied) {
        (Some(path), ..) if pod && path.starts_with('/') => None,
        (Some(_), ..) if pod => Some("valueFrom.path must be an absolute path in the main container".into()),
        (Some(_), ..) => Some("valueFrom.path reads a file of a container or script template's pod".into()),
        (_, Some(_), ..) if nested => None,
        (_, Some(_), ..) => Some("valueFrom.parameter names a step's or task's output in steps or a DAG".into()),
        (_, _, Some(e), _) if nested => {
            crate::expr::compile(e).err().map(|e| format!("valueFrom.expression is invalid: {e}"))
        }
        (_, _, Some(_), _) => Some("valueFrom.expression computes a steps or DAG template's output".into()),
        (.., Some(_)) if kind == Some(TemplateKind::Suspend) => None,
        (.., Some(_)) => Some("valueFrom.supplied is an output of a suspend template, given when it is resumed".into()),
        _ => Some("valueFrom needs path (container, script), parameter or expression (steps, DAG)".into()),
    }
}

/// Names the executor adds to every pod cannot be the user's too.
pub(crate) fn check_reserved(path: &str, t: &Template, p: &mut Vec<Problem>) {
    let containers = [("initContainers", &t.init_containers), ("sidecars", &t.sidecars)];
    for (field, list) in containers {
        for (i, c) in list.iter().enumerate() {
            if c.container.name == INIT_CONTAINER {
                p.push(Problem::new(
                    format!("{path}.{field}[{i}].name"),
                    format!("{INIT_CONTAINER:?} is the name of the container that installs argo-exec; choose another"),
                ));
            }
        }
    }
    check_volumes(path, &t.pod.volumes, p);
}

pub(crate) fn check_volumes(path: &str, volumes: &[Volume], p: &mut Vec<Problem>) {
    for (i, v) in volumes.iter().enumerate() {
        if v.name == VOLUME {
            p.push(Problem::new(
                format!("{path}.volumes[{i}].name"),
                format!("{VOLUME:?} is the name of the volume argo-exec is installed in; choose another"),
            ));
        }
    }
}

/// Every `globalName` of the workflow's templates.
pub(crate) fn global_names(spec: &crate::workflow::WorkflowSpec) -> BTreeSet<String> {
    spec.templates
        .iter()
        .flat_map(|t| t.outputs.iter().flat_map(|o| &o.parameters))
        .filter_map(|p| p.global_name.clone())
        .collect()
}

/// Output parameter names a called template declares.
pub(crate) fn declared(outputs: Option<&Outputs>) -> BTreeSet<String> {
    outputs.iter().flat_map(|o| &o.parameters).map(|p| p.name.clone()).collect()
}
