//! How much CPU one engine pass costs on a large workflow (run with
//! `cargo run --release -p argo-controller --example engine_cost`).

use std::time::Instant;

use argo_controller::engine::sim::Sim;

fn main() {
    for n in [200usize, 1000] {
        let mut y = String::from(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: chain}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    steps:\n",
        );
        for i in 0..n {
            y.push_str(&format!("    - - {{name: s{i}, template: w}}\n"));
        }
        y.push_str("  - name: w\n    container: {image: alpine}\n");
        let value: serde_json::Value = serde_yaml::from_str(&y).expect("yaml");
        let parse_start = Instant::now();
        let wf = argo_api::load::workflow(&value).expect("parses");
        let parse = parse_start.elapsed();
        let mut sim = Sim::new(wf);
        let start = Instant::now();
        sim.run(100_000);
        let per = start.elapsed() / sim.reconciles as u32;
        println!(
            "chain of {n}: strict parse {parse:?}; {} reconciles, {per:?} per engine pass (status of {} nodes at the end)",
            sim.reconciles,
            sim.workflow.status.as_ref().map_or(0, |s| s.nodes.len())
        );
    }
}
