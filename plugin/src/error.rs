//! The plugin's errors, worded as kubectl words them, and exit codes.

use std::process::ExitCode;

use kube::core::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or arguments: `error: ...`.
    #[error("{0}")]
    Usage(String),
    /// The apiserver refused: `Error from server (NotFound): ...`.
    #[error("{}", server_message(.0))]
    Server(Box<Status>),
    /// The apiserver could not be reached.
    #[error("{0}")]
    Connection(String),
    #[error("{0}")]
    Other(String),
}

fn server_message(s: &Status) -> String {
    if s.reason.is_empty() {
        format!("Error from server: {}", s.message)
    } else {
        format!("Error from server ({}): {}", s.reason, s.message)
    }
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::FAILURE
    }

    /// The line to print on stderr, kubectl-style.
    pub fn report(&self) -> String {
        match self {
            Error::Server(_) | Error::Connection(_) => self.to_string(),
            _ => format!("error: {self}"),
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Server(s) if s.code == 404)
    }

    /// A kube error from talking to `server`.
    pub fn from_kube(e: kube::Error, server: &str) -> Error {
        match e {
            kube::Error::Api(status) => Error::Server(status),
            other => {
                let text = chain(&other);
                if text.contains("Connection refused") {
                    Error::Connection(format!(
                        "The connection to the server {server} was refused - did you specify the right host or port?"
                    ))
                } else if text.to_ascii_lowercase().contains("timed out") || text.contains("elapsed") {
                    Error::Connection(format!("Unable to connect to the server {server}: timed out ({text})"))
                } else {
                    Error::Connection(format!("Unable to connect to the server {server}: {text}"))
                }
            }
        }
    }
}

/// An error and its causes on one line.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Other(e.to_string())
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Other(e.to_string())
    }
}

impl From<serde_yaml::Error> for Error {
    fn from(e: serde_yaml::Error) -> Self {
        Error::Other(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
