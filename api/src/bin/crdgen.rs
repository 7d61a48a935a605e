//! Writes the CRDs generated from the Rust types into `manifests/crds/`
//! (or the directory given as the first argument).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../manifests/crds"));
    std::fs::create_dir_all(&dir)?;
    for (file, crd) in argo_api::crd::all() {
        let path = dir.join(file);
        std::fs::write(&path, argo_api::crd::to_yaml(&crd))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
