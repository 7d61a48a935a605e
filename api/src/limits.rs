//! Bounds on everything a user can write that the controller or the webhook
//! turns into work or memory. A workflow over one of them fails (or is
//! refused at admission) with a message naming the limit, instead of
//! exhausting the process that serves every other team.

/// Items one `withItems`, `withParam` or `withSequence` may expand to.
pub const MAX_LOOP_ITEMS: usize = 10_000;
/// Nodes in one workflow's status.
pub const MAX_NODES: usize = 20_000;
/// How deep templates may call templates (steps in steps in a DAG...),
/// recursion included.
pub const MAX_DEPTH: usize = 100;
/// Bytes of one parameter value (workflow argument, input or item).
pub const MAX_PARAMETER_BYTES: usize = 256 * 1024;
/// Bytes of any one string after `{{...}}` substitution.
pub const MAX_SUBSTITUTED_BYTES: usize = 1024 * 1024;
/// Bytes of a whole stored workflow (spec, metadata and the status the
/// controller writes), with room left for what the apiserver adds: etcd
/// refuses requests over 1.5 MiB.
pub const MAX_OBJECT_BYTES: usize = 1536 * 1024 - 64 * 1024;
/// Bytes of what a workflow references (`templateRef`,
/// `workflowTemplateRef`): it is stored in the workflow's status
/// (`storedTemplates`, `storedWorkflowTemplateSpec`), inside the object
/// size above, beside the nodes.
pub const MAX_REFERENCED_BYTES: usize = 512 * 1024;
/// Bytes of the templates a workflow's references make one look through
/// (every WorkflowTemplate named, whole): the work one admission or one
/// workflow's start may do, however few templates it takes from them.
pub const MAX_LOOKED_UP_BYTES: usize = 8 * 1024 * 1024;
/// Templates in one workflow, its own (inline ones included) and those it
/// references: admission renders and checks a pod for each.
pub const MAX_TEMPLATES: usize = 2_000;
/// Nesting of an object read from the API or a file (objects and lists in
/// one another): deeper than any workflow needs (inline templates nest
/// four levels each), and shallow enough that no reader's recursion can
/// exhaust its thread's stack.
pub const MAX_JSON_DEPTH: usize = 64;
/// Bytes of a `depends` or `when` expression.
pub const MAX_EXPRESSION_BYTES: usize = 16 * 1024;
/// Nesting of parentheses and `!` in a `depends` or `when` expression,
/// and of any construct in an expr-lang expression.
pub const MAX_EXPRESSION_DEPTH: usize = 64;
/// Work one expr-lang expression may do: one per step, plus the size of
/// every value it copies (a byte counts 1/16).
pub const MAX_EXPRESSION_STEPS: usize = 1_000_000;

/// The limits the controller's engine enforces per workflow; the defaults
/// are the constants above (tests lower them to reach them quickly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub nodes: usize,
    /// The whole object; the status gets what the spec leaves.
    pub object_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            nodes: MAX_NODES,
            object_bytes: MAX_OBJECT_BYTES,
        }
    }
}

/// The size of `v` as JSON, or Err(bytes so far) once past `limit`: a
/// value too large is not written out whole to find out.
pub fn json_size<T: serde::Serialize + ?Sized>(v: &T, limit: usize) -> Result<usize, usize> {
    struct Count(usize, usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            if self.0 > self.1 {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0, limit);
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => Ok(count.0),
        Err(_) => Err(count.0),
    }
}

/// Sizes in messages: `256 KiB`, `1 MiB`, `512 bytes`.
pub fn bytes(n: usize) -> String {
    match n {
        n if n >= 1024 * 1024 && n % (1024 * 1024) == 0 => format!("{} MiB", n / (1024 * 1024)),
        n if n >= 1024 && n % 1024 == 0 => format!("{} KiB", n / 1024),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(bytes(MAX_PARAMETER_BYTES), "256 KiB");
        assert_eq!(bytes(MAX_SUBSTITUTED_BYTES), "1 MiB");
        assert_eq!(bytes(1500), "1500 bytes");
    }
}
