//! Where the webhook finds WorkflowProjects: the cluster's, watched
//! (`argo_service::WatchedProjects`), or a fixed set in tests.

use std::sync::Arc;

use argo_api::WorkflowProject;
use argo_api::policy::Projects;
use argo_service::WatchedProjects;

pub trait ProjectSource: Send + Sync + 'static {
    /// Every project, or None until the cache has its first full list.
    fn projects(&self) -> Option<Arc<Projects>>;
}

/// A fixed set of projects.
pub struct Fixed(pub Arc<Projects>);

impl Fixed {
    pub fn new(projects: Vec<WorkflowProject>) -> Fixed {
        Fixed(Arc::new(Projects::new(projects)))
    }
}

impl ProjectSource for Fixed {
    fn projects(&self) -> Option<Arc<Projects>> {
        Some(self.0.clone())
    }
}

impl ProjectSource for WatchedProjects {
    fn projects(&self) -> Option<Arc<Projects>> {
        WatchedProjects::projects(self)
    }
}
