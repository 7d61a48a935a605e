//! Certificates: shared with `kubectl argo install`, which makes them for
//! clusters without cert-manager.

pub use argo_api::certs::*;
