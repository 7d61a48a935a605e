//! What `argo-exec` reports about a finished command, and how it is kept
//! inside the pod's termination message (the controller reads it from the
//! pod's status: no sidecar, no API rights for the pod, no extra object).

mod record;

pub use record::{Record, TERMINATION_MESSAGE_BYTES, trim_one_newline};

/// Where the init container puts the program and the main container runs it.
pub const MOUNT_DIR: &str = "/var/run/argo";
/// The program inside [`MOUNT_DIR`].
pub const PROGRAM: &str = "/var/run/argo/argo-exec";
/// The environment variable naming the output parameters' files, as a JSON
/// object of name to path.
pub const PARAMETERS_ENV: &str = "ARGO_EXEC_PARAMETERS";
