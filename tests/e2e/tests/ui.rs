//! `kubectl argo ui` in a real browser (headless chromium over WebDriver):
//! two contexts and a dead one in one list, a running workflow whose node
//! changes colour, its log, a retry that runs it again, the projects page,
//! submit's errors at their line; and the guard on the token and Host.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use argo_api::workflow::Phase;
use e2e::Cluster;
use e2e::browser::{Browser, Ui};
use e2e::workflows::{get, phase, submit, wait_until};
use serde_json::json;

const MINUTE: Duration = Duration::from_secs(60);

/// A kubeconfig with the cluster's context (`a`), the same cluster again in
/// namespace `ns` (`b`), and a context whose server does not answer (`dead`).
fn kubeconfig(cluster: &Cluster, ns: &str, dir: &Path) -> Result<std::path::PathBuf> {
    let mut kc: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(&cluster.kubeconfig)?)?;
    let current = kc["current-context"].as_str().context("current-context")?.to_owned();
    let contexts = kc["contexts"].as_sequence().context("contexts")?.clone();
    let ctx = contexts.iter().find(|c| c["name"].as_str() == Some(&current)).context("current context")?;
    let (cluster_name, user) = (ctx["context"]["cluster"].clone(), ctx["context"]["user"].clone());
    let context = |name: &str, cluster: serde_yaml::Value, namespace: &str| {
        serde_yaml::to_value(
            json!({"name": name, "context": {"cluster": cluster, "user": user, "namespace": namespace}}),
        )
    };
    let dead_cluster = serde_yaml::to_value(json!({"name": "dead", "cluster": {"server": "https://127.0.0.1:1"}}))?;
    kc["clusters"].as_sequence_mut().context("clusters")?.push(dead_cluster);
    kc["contexts"] = serde_yaml::Value::Sequence(vec![
        context("a", cluster_name.clone(), "default")?,
        context("b", cluster_name, ns)?,
        context("dead", serde_yaml::Value::String("dead".into()), "default")?,
    ]);
    kc["current-context"] = "a".into();
    let path = dir.join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&kc)?)?;
    Ok(path)
}

/// Starts `kubectl argo ui` through the real kubectl; returns once it
/// printed its URL.
fn start_ui(cluster: &Cluster, kubeconfig: &Path, contexts: &str) -> Result<Ui> {
    let mut cmd = cluster.kubectl();
    cmd.env("KUBECONFIG", kubeconfig)
        .args(["argo", "ui", "--context", contexts, "--port", "0", "--no-open"]);
    Ui::start(cmd)
}

const WORKFLOW: &str = r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ui-run}
spec:
  entrypoint: main
  arguments: {parameters: [{name: code, value: "1"}]}
  templates:
  - name: main
    steps:
    - - {name: hello, template: hello}
    - - name: check
        template: check
        arguments: {parameters: [{name: code, value: "{{workflow.parameters.code}}"}]}
  - name: hello
    container: {image: busybox, command: [sh, -c, 'echo hello from the ui test; sleep 8; echo done']}
  - name: check
    inputs: {parameters: [{name: code}]}
    container: {image: busybox, command: [sh, -c, 'echo exiting {{inputs.parameters.code}}; exit {{inputs.parameters.code}}']}
"#;

/// The class of the graph node shown as `name`.
fn node_class(name: &str) -> String {
    format!(
        r#"const g = document.querySelector('.graph g.node[data-name="{name}"]'); return g && g.getAttribute("class");"#
    )
}

#[tokio::test]
async fn the_ui_lists_every_cluster_and_drives_a_workflow() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("ui").await?;
    let c = &cluster.client;
    let name = submit(c, &ns, WORKFLOW).await?;
    let dir = tempfile::tempdir()?;
    let ui = start_ui(&cluster, &kubeconfig(&cluster, &ns, dir.path())?, "a,b,dead")?;
    let browser = Browser::start(1440, 900).await?;
    browser.client.goto(&ui.url).await?;

    // The list: the workflow from both contexts, the dead one named.
    let rows = format!(
        r#"const v = [...document.querySelectorAll("a.row")].filter(r => r.children[2].textContent === "{name}" && r.children[1].textContent === "{ns}").map(r => r.children[0].textContent).sort().join(","); return v === "a,b" && v"#
    );
    let both = browser.until(MINUTE, "rows of both contexts", &rows).await?;
    ensure!(both == json!("a,b"), "{both}");
    let dead = browser
        .until(
            MINUTE,
            "the dead context's banner",
            r#"const b = document.querySelector('.banner.bad[data-context="dead"]'); return b && b.textContent"#,
        )
        .await?;
    ensure!(dead.as_str().is_some_and(|t| t.contains("127.0.0.1:1")), "{dead}");
    let url = browser.client.current_url().await?;
    ensure!(url.query().is_none(), "the token must leave the address bar: {url}");
    browser.screenshot("list").await?;

    // Open it from context a; watch its first node run, then succeed.
    browser
        .js(
            &format!(r#"[...document.querySelectorAll("a.row")].find(r => r.children[0].textContent === "a" && r.children[2].textContent === "{name}").click()"#),
            vec![],
        )
        .await?;
    let running = browser
        .until(
            MINUTE,
            "hello running",
            &format!("const c = (() => {{ {} }})(); return c && c.includes('phase-Running') && c", node_class("hello")),
        )
        .await?;
    ensure!(running.as_str().is_some_and(|c| c.contains("phase-Running")));
    browser.click(r#".graph g.node[data-name="hello"]"#).await?;
    browser.click(r#".tabs button:nth-child(3)"#).await?;
    browser
        .until(MINUTE, "hello's log", r#"const p = document.querySelector("pre.log"); return p && p.textContent.includes("hello from the ui test")"#)
        .await?;
    ensure!(
        browser.client.current_url().await?.query().is_some_and(|q| q.contains("node=")),
        "the node is in the URL"
    );
    browser.screenshot("node-logs").await?;
    browser
        .until(
            MINUTE,
            "hello turns Succeeded",
            &format!("const c = (() => {{ {} }})(); return c && c.includes('phase-Succeeded')", node_class("hello")),
        )
        .await?;
    browser
        .until(
            MINUTE,
            "the log's end",
            r#"const p = document.querySelector("pre.log"); return p && p.textContent.includes("done")"#,
        )
        .await?;
    // Once the container ended the feed ends too: the browser must not
    // reconnect and append the whole log again (it would, after ~3 s).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let log = browser.js(r#"return document.querySelector("pre.log").textContent"#, vec![]).await?;
    ensure!(log == json!("hello from the ui test\ndone\n"), "the log, once: {log}");
    browser
        .until(
            MINUTE,
            "the workflow Failed",
            r#"const b = document.querySelector(".title .badge"); return b && b.textContent.includes("Failed")"#,
        )
        .await?;
    browser.screenshot("workflow-failed").await?;

    // Retry with code=0, through the page's own dialog.
    browser.click(r#"button[data-action="retry"]"#).await?;
    browser
        .js(r#"document.querySelector('#confirm input[name="parameters"]').value = "code=0""#, vec![])
        .await?;
    browser.click("#confirm-ok").await?;
    wait_until(c, &ns, &name, 2 * MINUTE, "retried and Succeeded", |wf| phase(wf) == Some(Phase::Succeeded)).await?;
    browser
        .until(
            2 * MINUTE,
            "the retried workflow Succeeded",
            r#"const b = document.querySelector(".title .badge"); return b && b.textContent.includes("Succeeded")"#,
        )
        .await?;
    let wf = get(c, &ns, &name).await?;
    ensure!(phase(&wf) == Some(Phase::Succeeded), "retried workflow: {:?}", phase(&wf));
    browser.screenshot("workflow").await?;

    // The back button leaves the node, then the workflow.
    browser.client.back().await?;
    browser.client.back().await?;
    browser
        .until(MINUTE, "back on the list", r#"return location.pathname === "/" && document.querySelector("a.row")"#)
        .await?;

    // Projects: the test namespace's own project, and what it governs.
    browser.click(r#"nav a[href="/projects"]"#).await?;
    let governs = browser
        .until(MINUTE, "the namespace's project", &format!(r#"const p = document.querySelector('section[data-context="a"] article[data-project="{ns}"]'); return p && p.textContent"#))
        .await?;
    ensure!(governs.as_str().is_some_and(|t| t.contains(&format!("Governs: {ns}"))), "{governs}");
    browser
        .until(
            MINUTE,
            "the dead cluster's error",
            r#"return document.querySelector('section[data-context="dead"] .banner.bad')"#,
        )
        .await?;
    browser.screenshot("projects").await?;

    // Submit: a mistake is shown at its line and nothing is created.
    browser.click(r#"nav a[href="/submit"]"#).await?;
    let yaml = format!(
        "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {{name: ui-bad, namespace: {ns}}}\nspec:\n  entrypoint: nowhere\n  templates:\n  - name: main\n    container: {{image: busybox}}\n"
    );
    browser.js("document.querySelector('#s-yaml').value = arguments[0]", vec![json!(yaml)]).await?;
    browser.click(r#".submit-form button[type="submit"]"#).await?;
    let problem = browser
        .until(
            MINUTE,
            "submit's problems",
            r#"const p = document.querySelector(".problems li"); return p && p.textContent"#,
        )
        .await?;
    ensure!(problem.as_str().is_some_and(|t| t.contains("line 5") && t.contains("entrypoint")), "{problem}");
    browser.screenshot("submit-refused").await?;
    let api: kube::Api<argo_api::Workflow> = kube::Api::namespaced(c.clone(), &ns);
    ensure!(api.get_opt("ui-bad").await?.is_none(), "nothing is created when the YAML is wrong");
    Ok(())
}

/// A node whose pod cannot start says why, in the tree and in its panel,
/// while it waits.
#[tokio::test]
async fn the_ui_says_why_a_node_waits() -> Result<()> {
    let (cluster, ns, _ctl) = e2e::process::with_real_controller("ui-wait").await?;
    let name = submit(
        &cluster.client,
        &ns,
        r#"
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: ui-unpullable}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: "docker.io/argo-rs-e2e/not-there:v1", command: [echo, never]}
"#,
    )
    .await?;
    let dir = tempfile::tempdir()?;
    let ui = start_ui(&cluster, &kubeconfig(&cluster, &ns, dir.path())?, "a")?;
    let browser = Browser::start(1280, 800).await?;
    browser.client.goto(&ui.url).await?;
    browser.until(MINUTE, "the list", r#"return document.querySelector("a.row")"#).await?;
    let base = ui.url.split("/?").next().context("the UI's address")?;
    browser.client.goto(&format!("{base}/workflows/a/{ns}/{name}")).await?;
    let why = r#"const m = document.querySelector(".tree-msg"); return m && /ErrImagePull|ImagePullBackOff/.test(m.textContent) && m.textContent"#;
    let text = browser.until(2 * MINUTE, "the waiting reason in the tree", why).await?;
    ensure!(text.as_str().is_some_and(|t| t.contains("not-there:v1")), "{text}");
    browser.click(&format!(r#".graph g.node[data-name="{name}"]"#)).await?;
    let panel = browser
        .until(MINUTE, "the reason in the node's panel", r#"const d = document.querySelector("dl.fields"); return d && /ImagePull/.test(d.textContent) && d.textContent"#)
        .await?;
    ensure!(panel.as_str().is_some_and(|t| t.contains("not-there:v1")), "{panel}");
    browser.screenshot("node-waiting").await?;
    Ok(())
}

/// A raw HTTP/1.1 request, with the headers a test chooses.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n");
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("content-type: application/json\r\n\r\n{}");
    s.write_all(text.as_bytes())?;
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.split_whitespace().nth(1).context("status line")?.parse()?;
    Ok((status, out))
}

#[tokio::test]
async fn the_ui_answers_only_its_own_browser() -> Result<()> {
    let cluster = Cluster::connect().await?;
    let ns = cluster.namespace("ui-guard").await?;
    let dir = tempfile::tempdir()?;
    let ui = start_ui(&cluster, &kubeconfig(&cluster, &ns, dir.path())?, "a")?;
    let host = format!("127.0.0.1:{}", ui.port);
    let token = ui.url.split("token=").nth(1).context("token")?;

    let (status, _) = request(ui.port, "GET", "/", &[("Host", &host)])?;
    ensure!(status == 401, "no token: {status}");
    let (status, text) = request(ui.port, "GET", &format!("/?token={token}"), &[("Host", &host)])?;
    ensure!(status == 303 && text.contains("HttpOnly"), "the token becomes a cookie: {text}");
    let cookie = format!("argo-ui-{}={token}", ui.port);
    let (status, text) = request(ui.port, "GET", "/", &[("Host", &host), ("Cookie", &cookie)])?;
    ensure!(
        status == 200 && text.to_ascii_lowercase().contains("content-security-policy"),
        "with the cookie: {status}"
    );
    // DNS rebinding: another name for this address.
    let (status, _) =
        request(ui.port, "GET", "/", &[("Host", &format!("evil.example:{}", ui.port)), ("Cookie", &cookie)])?;
    ensure!(status == 403, "another Host: {status}");
    // A page elsewhere posting to the UI (CSRF), even with the cookie.
    let path = format!("/api/clusters/a/namespaces/{ns}/workflows/x/delete");
    for origin in ["http://evil.example", "null"] {
        let (status, _) = request(ui.port, "POST", &path, &[("Host", &host), ("Cookie", &cookie), ("Origin", origin)])?;
        ensure!(status == 403, "origin {origin}: {status}");
    }
    let (status, text) = request(
        ui.port,
        "POST",
        &path,
        &[
            ("Host", &host),
            ("Cookie", &cookie),
            ("Origin", &format!("http://{host}")),
        ],
    )?;
    ensure!(status == 404 && text.contains("not found"), "from the UI itself the server answers: {text}");
    Ok(())
}

#[tokio::test]
async fn the_browser_goes_with_the_test() -> Result<()> {
    let browser = Browser::start(800, 600).await?;
    browser.client.goto("about:blank").await?;
    let group = browser.group();
    ensure!(e2e::browser::group_members(group).len() > 1, "chromium runs in chromedriver's process group");
    drop(browser);
    e2e::eventually(Duration::from_secs(10), "every browser process to end", || async {
        Ok(e2e::browser::group_members(group).is_empty().then_some(()))
    })
    .await?;
    Ok(())
}
