//! The engine: a pure function from (workflow, observed pods, now) to the
//! new status and the actions that bring the cluster in line with it. It
//! does no I/O, so it can be tested in milliseconds and driven by a
//! simulator; running it twice on its own output changes nothing.
//!
//! Read top-down: `reconcile` is the entry; `world` is what a pass reads,
//! `nodes` the node set it builds (every node made by `Ctx::ensure_node`),
//! `ctx` the two together; `execute` dispatches a template to its node
//! kind (`pod`, `suspend`, `steps`, `dag` with `dag_outcome`, and
//! `retry_strategy` around any of them); `conclude`, `gc` and `size` are
//! what happens after the nodes. `rerun` is `kubectl argo retry`.

mod conclude;
mod ctx;
mod dag;
mod dag_outcome;
mod execute;
mod gc;
mod io;
mod loops;
mod nodes;
mod outputs;
mod pod;
mod reconcile;
mod render;
mod rerun;
mod retry_strategy;
#[cfg(any(test, feature = "sim"))]
pub mod sim;
mod size;
mod steps;
mod suspend;
mod waiting;
mod world;

pub use io::{Action, CreateError, DEFAULT_IMAGE_PULL_TIMEOUT, Input, Output, PodIndex};
pub use reconcile::{reconcile, refuse};
pub use rerun::{Rerun, rerun};
