//! Snapshot tests of every printer, from fixture workflows under
//! tests/fixtures. `UPDATE_SNAPSHOTS=1 cargo test` rewrites the snapshots
//! under tests/snapshots; review the diff before committing it.

use std::path::PathBuf;

use argo_api::selector::NodeSelector;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;

use super::Style;
use super::get::{Options, render};
use super::list::{self, Row};
use super::tabwriter::visible_width;
use super::tree::Columns;
use crate::view::WorkflowView;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join(sub)
}

fn fixture(name: &str) -> WorkflowView {
    let text = std::fs::read_to_string(dir("fixtures").join(format!("{name}.yaml"))).unwrap();
    let value: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    serde_json::from_value(value).unwrap()
}

fn snapshot(name: &str, actual: &str) {
    let path = dir("snapshots").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {}; run with UPDATE_SNAPSHOTS=1", path.display()));
    assert!(actual == expected, "snapshot {name} differs.\n--- expected\n{expected}\n--- actual\n{actual}");
}

fn now() -> Timestamp {
    "2024-03-04T12:00:00Z".parse().unwrap()
}

/// As `kubectl argo get` prints one workflow: the view, then its notices.
fn get(wf: &WorkflowView, style: Style, columns: Columns, selector: Option<&NodeSelector>) -> String {
    let view = render(
        wf,
        &Options {
            style,
            columns,
            selector,
            now: now(),
            tz: TimeZone::UTC,
        },
    );
    format!("{view}{}", super::get::notices(wf).unwrap_or_default())
}

const WORDS: Style = Style {
    color: false,
    utf8: false,
};
const COLOR: Style = Style {
    color: true,
    utf8: true,
};

fn all() -> Vec<(String, WorkflowView)> {
    let mut wfs: Vec<(String, WorkflowView)> =
        ["dag", "loop", "suspended"].iter().map(|n| ("kind-a".to_owned(), fixture(n))).collect();
    list::sort(&mut wfs);
    wfs
}

fn table(wfs: &[(String, WorkflowView)], opts: list::Options) -> String {
    let rows: Vec<Row<'_>> = wfs.iter().map(|(context, workflow)| Row::Workflow { context, workflow }).collect();
    list::table(&rows, opts, now())
}

#[test]
fn list_tables() {
    let wfs = all();
    snapshot("list", &table(&wfs, list::Options::default()));
    let a = list::Options {
        all_namespaces: true,
        ..Default::default()
    };
    snapshot("list-all-namespaces", &table(&wfs, a));
    let wide = list::Options {
        wide: true,
        ..Default::default()
    };
    snapshot("list-wide", &table(&wfs, wide));
    let bare = list::Options {
        no_headers: true,
        ..Default::default()
    };
    snapshot("list-no-headers", &table(&wfs, bare));
}

#[test]
fn list_across_contexts_shows_unreachable_clusters_as_rows() {
    let wfs = all();
    let mut rows: Vec<Row<'_>> = wfs.iter().map(|(context, workflow)| Row::Workflow { context, workflow }).collect();
    rows.push(Row::Unreachable {
        context: "kind-b",
        error: "The connection to the server 127.0.0.1:1 was refused - did you specify the right host or port?".into(),
    });
    let opts = list::Options {
        contexts: true,
        all_namespaces: true,
        ..Default::default()
    };
    snapshot("list-contexts", &list::table(&rows, opts, now()));
}

#[test]
fn list_order_is_unfinished_first_then_latest_finished() {
    let names: Vec<String> = all().iter().map(|(_, w)| w.name().to_owned()).collect();
    assert_eq!(names, ["approve-m3n8z", "diamond-q9t4r", "loop-x7k2p"]);
}

#[test]
fn get_trees() {
    let dag = fixture("dag");
    snapshot("get-dag", &get(&dag, Style::PLAIN, Columns::Default, None));
    snapshot("get-dag-no-utf8", &get(&dag, WORDS, Columns::Default, None));
    snapshot("get-dag-wide", &get(&dag, Style::PLAIN, Columns::Wide, None));
    snapshot("get-dag-short", &get(&dag, Style::PLAIN, Columns::Short, None));
    let failed = NodeSelector::parse("phase=Failed").unwrap();
    snapshot("get-dag-failed-nodes", &get(&dag, Style::PLAIN, Columns::Default, Some(&failed)));
    snapshot("get-loop", &get(&fixture("loop"), Style::PLAIN, Columns::Default, None));
    snapshot("get-suspended", &get(&fixture("suspended"), Style::PLAIN, Columns::Default, None));
    snapshot("get-suspended-no-utf8", &get(&fixture("suspended"), WORDS, Columns::Default, None));
    snapshot("get-outputs", &get(&fixture("outputs"), Style::PLAIN, Columns::Default, None));
}

#[test]
fn loop_children_sort_by_start_then_index_with_v1_pod_names() {
    let out = get(&fixture("loop"), Style::PLAIN, Columns::Default, None);
    let steps: Vec<&str> = out.lines().filter_map(|l| l.split_once("work(")).map(|(_, r)| r).collect();
    let order: Vec<&str> = steps.iter().map(|s| s.split(':').next().unwrap()).collect();
    assert_eq!(order, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]);
    let id = argo_api::names::node_id("loop-x7k2p", "loop-x7k2p[0].work(9:j9)");
    let row = out.lines().find(|l| l.contains("work(9:j9)")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells, ["├─", "work(9:j9)", "work", &id, "18s"], "a pod without a phase has no icon:\n{out}");
}

#[test]
fn colour_never_changes_the_layout() {
    let dag = fixture("dag");
    let plain = get(&dag, Style::PLAIN, Columns::Default, None);
    let coloured = get(&dag, COLOR, Columns::Default, None);
    assert!(coloured.contains("\x1b[32m✔\x1b[0m"), "{coloured}");
    let widths = |s: &str| s.lines().map(visible_width).collect::<Vec<_>>();
    assert_eq!(widths(&plain), widths(&coloured));
}

#[test]
fn hidden_nodes_stay_hidden() {
    let out = get(&fixture("dag"), Style::PLAIN, Columns::Default, None);
    assert!(!out.contains(" D "), "an Omitted node is not shown:\n{out}");
    assert!(!out.contains("✖ C\t") && out.contains("C(0)"), "a one-attempt Retry shows only its attempt:\n{out}");
    assert!(out.contains("├─✔ B "), "a retried node shows its Retry node:\n{out}");
    assert!(out.contains("│ ├─✖ B(0) "), "its attempts hang under it:\n{out}");
}

#[test]
fn wait_lines_read_like_upstream() {
    let dag = fixture("dag");
    let t = dag.status.finished_at.as_ref();
    assert_eq!(crate::follow::go_time_in(t, &TimeZone::UTC), "2024-03-04 10:01:10 +0000 UTC");
    assert_eq!(crate::follow::go_time_in(None, &TimeZone::UTC), "0001-01-01 00:00:00 +0000 UTC");
}

/// The controller packs the nodes of a workflow too large to store plainly
/// (`status.compressedNodes`): `get` shows the same tree from them.
#[test]
fn packed_nodes_print_as_the_plain_ones() {
    let text = std::fs::read_to_string(dir("fixtures").join("outputs.yaml")).unwrap();
    let mut value: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    let mut status: argo_api::WorkflowStatus = serde_json::from_value(value["status"].clone()).unwrap();
    assert!(!status.nodes.is_empty());
    argo_api::workflow::compress::pack(&mut status).unwrap();
    value["status"] = serde_json::to_value(&status).unwrap();
    assert!(value["status"].get("nodes").is_none());
    let packed: WorkflowView = serde_json::from_value(value).unwrap();
    let plain = fixture("outputs");
    let columns = Columns::default();
    assert_eq!(get(&packed, WORDS, columns, None), get(&plain, WORDS, columns, None));
    let mut broken = serde_json::json!({"status": {"compressedNodes": "bm90IGd6aXA="}});
    let e = serde_json::from_value::<WorkflowView>(broken.take()).unwrap_err();
    assert!(e.to_string().contains("not gzip"), "{e}");
}

#[test]
fn a_resolved_template_reference_shows_as_upstream_shows_a_template_ref() {
    let node = |t: &str| -> crate::view::NodeView {
        serde_json::from_value(serde_json::json!({"id": "x", "name": "x", "type": "Pod", "templateName": t})).unwrap()
    };
    assert_eq!(node("namespaced/lib/say").template(), "lib/say");
    assert_eq!(node("cluster/shared/echo").template(), "shared/echo");
    assert_eq!(node("main").template(), "main");
}
