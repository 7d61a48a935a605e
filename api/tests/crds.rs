//! The CRDs committed under manifests/crds/ are exactly what the types
//! generate; regenerate with `cargo run -p argo-api --bin crdgen`.

use std::path::Path;

#[test]
fn committed_crds_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../manifests/crds");
    for (file, crd) in argo_api::crd::all() {
        let path = dir.join(file);
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run `cargo run -p argo-api --bin crdgen`", path.display()));
        assert!(
            committed == argo_api::crd::to_yaml(&crd),
            "{} differs from the generated CRD; run `cargo run -p argo-api --bin crdgen` and commit it",
            path.display()
        );
    }
}

#[test]
fn workflow_spec_keeps_unknown_fields_at_every_level() {
    let crd = argo_api::crd::workflow();
    let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("serializes");
    let spec = &schema["openAPIV3Schema"]["properties"]["spec"];
    assert_eq!(spec["x-kubernetes-preserve-unknown-fields"], true);
    let template = &spec["properties"]["templates"]["items"];
    assert_eq!(template["x-kubernetes-preserve-unknown-fields"], true);
    let task = &template["properties"]["dag"]["properties"]["tasks"]["items"];
    assert_eq!(task["x-kubernetes-preserve-unknown-fields"], true);
}
