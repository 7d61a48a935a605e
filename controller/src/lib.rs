//! The workflow controller: a pure engine that decides, and a shell that
//! observes the cluster and applies the engine's decisions.

pub mod cron;
pub mod engine;
pub mod shell;
