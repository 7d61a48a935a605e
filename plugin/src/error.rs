//! The plugin's error type and the exit codes kubectl users expect.

use std::process::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Yaml(#[from] serde_yaml::Error),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
