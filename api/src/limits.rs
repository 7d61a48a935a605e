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
