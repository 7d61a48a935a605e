//! Any bytes posted to /mutate or /validate get an AdmissionReview or a
//! 4xx, never a panic. The input is used raw, and also spliced into a
//! well-formed review as the object, so the fuzzer reaches the policy code.
#![no_main]

use std::sync::{Arc, OnceLock};

use argo_webhook::admission::{Admission, Endpoint, respond};
use argo_webhook::projects::Fixed;
use libfuzzer_sys::fuzz_target;

fn admission() -> &'static Admission {
    static A: OnceLock<Admission> = OnceLock::new();
    A.get_or_init(|| {
        let project = argo_api::load::workflow_project(&serde_json::json!({
            "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowProject", "metadata": {"name": "default"},
            "spec": {"namespaces": ["*"], "images": ["alpine*", "!*:latest"], "requiredLimits": ["memory"],
                     "maxParallelism": 3, "templateDefaults": {"retryStrategy": {"limit": 1}}}
        }))
        .expect("valid project");
        Admission {
            projects: Arc::new(Fixed::new(vec![project])),
            templates: Arc::new(argo_api::templates::NoTemplates),
            controller_user: None,
            metrics: Arc::default(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let a = admission();
    for endpoint in [Endpoint::Mutate, Endpoint::Validate] {
        let _ = respond(endpoint, a, data);
        if let Ok(object) = serde_json::from_slice::<serde_json::Value>(data) {
            for (kind, op) in [("Workflow", "CREATE"), ("Workflow", "UPDATE"), ("WorkflowProject", "CREATE")] {
                let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
                    "uid": "u", "kind": {"group": "argoproj.io", "version": "v1alpha1", "kind": kind},
                    "resource": {"group": "argoproj.io", "version": "v1alpha1", "resource": "x"},
                    "namespace": "ns", "operation": op, "userInfo": {"username": "u"},
                    "object": object, "oldObject": object}});
                let _ = respond(endpoint, a, &serde_json::to_vec(&review).expect("json"));
            }
        }
    }
});
