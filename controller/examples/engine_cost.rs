//! How much CPU one engine pass costs on large workflows (run with
//! `cargo run --release -p argo-controller --example engine_cost`): a
//! chain of steps run to the end, and a wide DAG's first pass, which
//! renders and decides every one of its pods.

use std::time::Instant;

use argo_controller::engine::sim::Sim;

fn sim(yaml: &str) -> Sim {
    let value: serde_json::Value = serde_yaml::from_str(yaml).expect("yaml");
    Sim::new(argo_api::load::workflow(&value).expect("parses"))
}

fn main() {
    for n in [200usize, 1000] {
        let mut y = String::from(
            "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: chain}\nspec:\n  entrypoint: s\n  templates:\n  - name: s\n    steps:\n",
        );
        for i in 0..n {
            y.push_str(&format!("    - - {{name: s{i}, template: w}}\n"));
        }
        y.push_str("  - name: w\n    container: {image: alpine}\n");
        let mut s = sim(&y);
        let start = Instant::now();
        s.run(100_000);
        let per = start.elapsed() / s.reconciles as u32;
        println!("chain of {n}: {} reconciles, {per:?} per engine pass", s.reconciles);
    }
    let mut y = String::from(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: wide}\nspec:\n  entrypoint: d\n  templates:\n  - name: d\n    dag:\n      tasks:\n",
    );
    for i in 0..1000 {
        y.push_str(&format!("      - {{name: t{i}, template: w}}\n"));
    }
    y.push_str("  - name: w\n    container: {image: alpine}\n");
    let rounds = 20;
    let start = Instant::now();
    for _ in 0..rounds {
        let mut s = sim(&y);
        s.reconcile();
        assert_eq!(s.created.len(), 1000);
    }
    println!("DAG of 1000 tasks: first pass (1000 pods rendered and decided) {:?}", start.elapsed() / rounds);
}
