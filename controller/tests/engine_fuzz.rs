//! Mutation fuzzing of the engine over what users and the cluster hand it:
//! spec, status, annotations and pods. Seeds are upstream's examples and
//! this project's, each also snapshotted mid-run by the simulator; every
//! case mutates one (random values, strings borrowed from elsewhere in the
//! document so names and node ids cross-reference, links that loop,
//! deep nesting, huge numbers, `{{` fragments), then runs the engine and a
//! retry request on it. A panic fails the test with the input that caused
//! it. ARGO_RS_FUZZ_CASES sets the number of cases (default 1,000,000 in a
//! release build, 20,000 in a debug one); controller/fuzz.sh runs it in
//! release.

mod common;

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::Instant;

use argo_api::retry::RetryRequest;
use argo_controller::engine::sim::{Sim, default_projects};
use argo_controller::engine::{self, Input, PodIndex};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// A workflow (with or without a status) and the pods the cluster holds.
#[derive(Clone)]
struct Snapshot {
    workflow: Value,
    pods: PodIndex,
}

fn examples_dir() -> Option<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        std::env::var_os("ARGO_EXAMPLES_DIR").map(PathBuf::from),
        Some(manifest.join("../../shared/conformance/argo-examples")),
        Some(PathBuf::from("/work/shared/conformance/argo-examples")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_dir())
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

/// Every Workflow the engine accepts from the example folders, and each
/// of them run partway and to the end in the simulator.
fn seeds() -> Vec<Snapshot> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    yaml_files(&manifest.join("../examples"), &mut files);
    yaml_files(&manifest.join("../tests/e2e/fixtures"), &mut files);
    if let Some(dir) = examples_dir() {
        yaml_files(&dir, &mut files);
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(docs) = argo_api::load::documents(&std::fs::read_to_string(&f).unwrap_or_default()) else {
            continue;
        };
        for doc in docs.into_iter().filter(|d| d.kind() == Some("Workflow")) {
            let Ok(wf) = argo_api::load::workflow(&doc.value) else {
                continue;
            };
            let mut sim = Sim::new(wf);
            for steps in [0usize, 2, 5, 400] {
                while sim.reconciles < steps && !sim.phase().is_some_and(argo_api::workflow::Phase::is_completed) {
                    sim.reconcile();
                    sim.advance(std::time::Duration::from_secs(1));
                }
                if let Ok(workflow) = serde_json::to_value(&sim.workflow) {
                    out.push(Snapshot {
                        workflow,
                        pods: sim.visible_pods(),
                    });
                }
            }
        }
    }
    assert!(out.len() > 100, "too few seeds: {}", out.len());
    out
}

/// Every string in the document: names, ids and values to borrow.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                strings(x, out);
            }
        }
        _ => {}
    }
}

fn hostile_string(rng: &mut Rng, dict: &[String]) -> String {
    match rng.below(12) {
        0 => String::new(),
        1 => "x".repeat(1 + rng.below(300_000)),
        2 => "{{workflow.parameters.p}}".into(),
        3 => "{{".into(),
        4 => "}}{{item}}{{".into(),
        5 => "{{= 1 + }}".into(),
        6 => format!("{}a{}", "(".repeat(rng.below(200)), ")".repeat(rng.below(200))),
        7 => ["9223372036854775807", "-1", "1e99", "0"][rng.below(4)].into(),
        _ => dict[rng.below(dict.len())].clone(),
    }
}

fn hostile_number(rng: &mut Rng) -> Value {
    match rng.below(7) {
        0 => json!(i64::MAX),
        1 => json!(i64::MIN),
        2 => json!(-1),
        3 => json!(0),
        4 => json!(i32::MAX),
        5 => json!(1e300),
        _ => json!(rng.below(100)),
    }
}

/// Anything at all, for the rare change of type.
fn hostile_value(rng: &mut Rng, dict: &[String]) -> Value {
    match rng.below(8) {
        0 => json!({}),
        1 => json!([]),
        2 => {
            let mut v = json!("deep");
            for _ in 0..rng.below(100) {
                v = json!([v]);
            }
            v
        }
        3 => Value::Null,
        4 => hostile_number(rng),
        5 => json!(rng.chance(2)),
        _ => json!(hostile_string(rng, dict)),
    }
}

/// The same kind of value, hostile: most mutations keep the shape so that
/// the case gets past parsing and into the engine.
fn same_kind(v: &Value, rng: &mut Rng, dict: &[String]) -> Value {
    if rng.chance(10) {
        return hostile_value(rng, dict);
    }
    match v {
        Value::String(_) => json!(hostile_string(rng, dict)),
        Value::Number(_) => hostile_number(rng),
        Value::Bool(b) => json!(!b),
        other => other.clone(),
    }
}

/// Mutates one random place of the document.
fn mutate(v: &mut Value, rng: &mut Rng, dict: &[String], depth: usize) {
    let stop = depth > 0 && rng.chance(5);
    match v {
        Value::Object(m) if !m.is_empty() && !stop => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let k = keys[rng.below(keys.len())].clone();
            match rng.below(14) {
                0 => {
                    m.remove(&k);
                }
                1 if rng.chance(4) => {
                    let copy = m[&k].clone();
                    m.insert(dict[rng.below(dict.len())].clone(), copy);
                }
                _ => mutate(m.get_mut(&k).expect("key exists"), rng, dict, depth + 1),
            }
        }
        Value::Array(items) if !items.is_empty() && !stop => {
            let i = rng.below(items.len());
            match rng.below(10) {
                0 => {
                    items.remove(i);
                }
                1 => {
                    let copy = items[i].clone();
                    items.push(copy);
                }
                _ => mutate(&mut items[i], rng, dict, depth + 1),
            }
        }
        other => *other = same_kind(other, rng, dict),
    }
}

/// Status links that lie: children and outbound nodes pointing anywhere,
/// including back at themselves.
fn tangle_status(wf: &mut Value, rng: &mut Rng) {
    let Some(nodes) = wf.pointer_mut("/status/nodes").and_then(Value::as_object_mut) else {
        return;
    };
    let ids: Vec<String> = nodes.keys().cloned().collect();
    if ids.is_empty() {
        return;
    }
    for node in nodes.values_mut().filter_map(Value::as_object_mut) {
        if rng.chance(3) {
            let links: Vec<Value> = (0..rng.below(4)).map(|_| json!(ids[rng.below(ids.len())])).collect();
            node.insert(if rng.chance(2) { "children" } else { "outboundNodes" }.into(), Value::Array(links));
        }
        if rng.chance(5) {
            let phases = [
                "Pending",
                "Running",
                "Succeeded",
                "Failed",
                "Error",
                "Skipped",
                "Omitted",
            ];
            node.insert("phase".into(), json!(phases[rng.below(phases.len())]));
        }
        if rng.chance(7) {
            node.insert("boundaryID".into(), json!(ids[rng.below(ids.len())]));
        }
    }
}

/// Pods the cluster shows: phases, exit codes and messages at random.
fn shake_pods(pods: &mut PodIndex, rng: &mut Rng) {
    for pod in pods.values_mut() {
        if rng.chance(3) {
            let mut v = serde_json::to_value(&*pod).unwrap_or_default();
            let phases = ["Pending", "Running", "Succeeded", "Failed", "Unknown", ""];
            v["status"]["phase"] = json!(phases[rng.below(phases.len())]);
            v["status"]["containerStatuses"] = json!([{"name": "main", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"exitCode": rng.next() as i32, "message": "x".repeat(rng.below(2000))}}}]);
            if rng.chance(2) {
                // Waiting on an image (or not), since any time, in any order.
                let reasons = [
                    "ImagePullBackOff",
                    "ErrImagePull",
                    "InvalidImageName",
                    "PodInitializing",
                    "",
                    "CreateContainerConfigError",
                ];
                let times = [
                    "2026-01-01T00:00:00Z",
                    "1970-01-01T00:00:00Z",
                    "9999-12-31T23:59:59Z",
                    "2026-01-01T00:09:59Z",
                ];
                let waiting = |rng: &mut Rng| {
                    let (name, reason) = (["main", "argo-init", "x"][rng.below(3)], reasons[rng.below(reasons.len())]);
                    json!({"name": name, "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                        "state": {"waiting": {"reason": reason, "message": "m".repeat(rng.below(5000))}}})
                };
                let (a, b) = (waiting(rng), waiting(rng));
                let (t1, t2, t3) =
                    (times[rng.below(times.len())], times[rng.below(times.len())], times[rng.below(times.len())]);
                let initialized = ["True", "False"][rng.below(2)];
                v["status"]["initContainerStatuses"] = json!([a, {"name": "i", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                    "state": {"terminated": {"exitCode": 0, "finishedAt": t1}}}]);
                v["status"]["containerStatuses"] = json!([b]);
                v["status"]["conditions"] = json!([
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": t2},
                    {"type": "Initialized", "status": initialized, "lastTransitionTime": t3}]);
            }
            if let Ok(p) = serde_json::from_value(v) {
                *pod = p;
            }
        }
    }
}

#[test]
fn hostile_specs_statuses_and_pods_never_panic_the_engine() {
    let default_cases = if cfg!(debug_assertions) { 20_000 } else { 1_000_000 };
    let cases: usize = std::env::var("ARGO_RS_FUZZ_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(default_cases);
    let seed: u64 = std::env::var("ARGO_RS_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0xf022_2026);
    let seeds = seeds();
    let projects = default_projects();
    let mut rng = Rng(seed | 1);
    let now: Timestamp = "2026-01-01T00:10:00Z".parse().expect("time");
    let started = Instant::now();
    let (mut ran, mut refused) = (0usize, 0usize);
    // The default hook would print every caught panic; the report below
    // says it once, with where it happened.
    static WHERE: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| l.to_string()).unwrap_or_default();
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        let ours: Vec<&str> = bt.lines().filter(|l| l.contains("/work/") || l.contains("argo_")).take(12).collect();
        *WHERE.lock().unwrap_or_else(|e| e.into_inner()) = format!("{at}\n{}", ours.join("\n"));
    }));
    for case in 0..cases {
        let base = &seeds[rng.below(seeds.len())];
        let mut wf = base.workflow.clone();
        let mut pods = base.pods.clone();
        let mut dict = Vec::new();
        strings(&wf, &mut dict);
        dict.push("x".into());
        for _ in 0..1 + rng.below(4) {
            match rng.below(10) {
                0 => tangle_status(&mut wf, &mut rng),
                1 => shake_pods(&mut pods, &mut rng),
                2 => {
                    let key = [
                        "workflows.argoproj.io/resume",
                        "workflows.argoproj.io/retry",
                        "workflows.argoproj.io/shutdown-message",
                    ][rng.below(3)];
                    let value = json!(hostile_string(&mut rng, &dict));
                    if let Some(meta) = wf.get_mut("metadata").and_then(Value::as_object_mut) {
                        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
                        if let Some(a) = annotations.as_object_mut() {
                            a.insert(key.into(), value);
                        }
                    }
                }
                3 | 4 if wf.get("status").is_some_and(Value::is_object) => {
                    mutate(wf.get_mut("status").expect("checked"), &mut rng, &dict, 1)
                }
                5..=8 if wf.get("spec").is_some_and(Value::is_object) => {
                    mutate(wf.get_mut("spec").expect("checked"), &mut rng, &dict, 1)
                }
                _ => mutate(&mut wf, &mut rng, &dict, 0),
            }
        }
        let input = wf.clone();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let Ok(parsed) = argo_api::load::workflow(&wf) else {
                return false;
            };
            let out = engine::reconcile(&Input {
                workflow: &parsed,
                pods: &pods,
                now,
                create_errors: &BTreeMap::new(),
                projects: &projects,
                limits: Default::default(),
                executor: &Default::default(),
                image_pull_timeout: Some(engine::DEFAULT_IMAGE_PULL_TIMEOUT),
            });
            let _ = serde_json::to_vec(&out.status);
            let nodes: Vec<String> =
                parsed.status.iter().flat_map(|s| s.nodes.values()).map(|n| n.name.clone()).collect();
            let request = RetryRequest {
                node_field_selector: (!nodes.is_empty()).then(|| format!("name={}", nodes[case % nodes.len()])),
                restart_successful: case % 2 == 0,
                ..RetryRequest::default()
            };
            let _ = engine::rerun(&parsed, &request);
            true
        }));
        match outcome {
            Ok(true) => ran += 1,
            Ok(false) => refused += 1,
            Err(panic) => {
                let _ = std::panic::take_hook();
                let text = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                let dump = std::env::temp_dir().join(format!("engine-fuzz-case-{case}.json"));
                let _ = std::fs::write(&dump, serde_json::to_vec_pretty(&input).unwrap_or_default());
                let at = WHERE.lock().unwrap_or_else(|e| e.into_inner()).clone();
                panic!("case {case} (seed {seed}) panicked: {text:?} at {at}; input in {}", dump.display());
            }
        }
    }
    let _ = std::panic::take_hook();
    println!(
        "{cases} cases in {:.1}s: {ran} reconciled and retried, {refused} refused as unparseable, 0 panics",
        started.elapsed().as_secs_f64()
    );
    assert!(ran > cases / 4, "too few cases reached the engine: {ran} of {cases}");
}
