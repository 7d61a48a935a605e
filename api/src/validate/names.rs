//! Names of templates, steps, tasks and parameters, as upstream restricts
//! them: they end up in node names, pod names and `{{...}}` references.

/// Upstream's rule for template, step and task names.
pub fn is_valid_name(name: &str) -> bool {
    check_name(name).is_ok()
}

pub(crate) fn check_name(name: &str) -> Result<(), String> {
    // A referenced template, resolved: `namespaced/<owner>/<template>`.
    if let [scope, owner, template] = name.split('/').collect::<Vec<_>>()[..]
        && matches!(scope, "namespaced" | "cluster")
        && !owner.is_empty()
        && owner.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
    {
        return check_name(template);
    }
    if name.len() > 128 {
        return Err(format!("name {name:?} is longer than 128 characters"));
    }
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!("name {name:?} is invalid: use letters, digits and '-', starting with a letter or digit"));
    }
    Ok(())
}

/// Parameter names also allow `_` and `.` (they are never in pod names).
pub(crate) fn check_parameter_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!("parameter name {name:?} is invalid: use letters, digits, '-', '_' and '.'"))
    }
}
