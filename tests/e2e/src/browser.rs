//! A real browser for the web UI's tests: Debian's chromium, headless,
//! driven over WebDriver by its chromedriver. Screenshots go to
//! target/ui-screenshots/ for people to look at.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::process::free_port;
use crate::repo_root;

pub struct Browser {
    pub client: Client,
    driver: Child,
}

impl Browser {
    /// chromedriver's process group, which its browser shares.
    pub fn group(&self) -> u32 {
        self.driver.id()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver's browser processes share its process group; killing
        // only chromedriver would leave them running.
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The processes of process group `group`, from /proc.
pub fn group_members(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // pid (comm) state ppid pgrp ...: comm may hold spaces, so count after ')'.
            let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
            after.split_whitespace().nth(2).and_then(|g| g.parse::<u32>().ok()) == Some(group)
        })
        .collect()
}

fn which(names: &[&str]) -> Result<String> {
    for name in names {
        for dir in ["/usr/bin", "/usr/local/bin", "/usr/lib/chromium"] {
            let path = format!("{dir}/{name}");
            if std::path::Path::new(&path).exists() {
                return Ok(path);
            }
        }
    }
    bail!(
        "none of {names:?} is installed: the UI tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)"
    )
}

impl Browser {
    /// A fresh headless browser with a window of `width` x `height`.
    pub async fn start(width: u32, height: u32) -> Result<Browser> {
        let port = free_port()?.port();
        let log = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&log)?;
        let driver = Command::new(which(&["chromedriver"])?)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log.join(format!("chromedriver-{port}.log")))?)
            .spawn()
            .context("starting chromedriver")?;
        let mut browser_args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        // Root cannot use chromium's sandbox.
        if std::env::var("USER").as_deref() == Ok("root") || is_root() {
            browser_args.push("--no-sandbox".to_owned());
        }
        let caps =
            json!({"goog:chromeOptions": {"binary": which(&["chromium", "chromium-browser"])?, "args": browser_args}});
        let caps = caps.as_object().cloned().context("capabilities")?;
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new()).capabilities(caps.clone()).connect(&url).await {
                Ok(client) => return Ok(Browser { client, driver }),
                Err(e) => last = Some(e.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("chromedriver did not start a browser: {}", last.unwrap_or_default())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        Ok(self.client.execute(script, args).await?)
    }

    /// Waits until `script` returns something truthy, and returns it.
    pub async fn until(&self, timeout: Duration, what: &str, script: &str) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last;
        loop {
            match self.js(script, vec![]).await {
                Ok(v) if !matches!(v, Value::Null | Value::Bool(false)) && v != json!("") && v != json!(0) => {
                    return Ok(v);
                }
                Ok(v) => last = v,
                Err(e) => last = json!(e.to_string()),
            }
            if tokio::time::Instant::now() > deadline {
                let text = self.js("return document.body.innerText", vec![]).await.unwrap_or_default();
                bail!("{what}: not within {timeout:?} (last: {last}); the page says:\n{}", text.as_str().unwrap_or(""));
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn click(&self, css: &str) -> Result<()> {
        self.client.find(Locator::Css(css)).await.with_context(|| format!("no {css}"))?.click().await?;
        Ok(())
    }

    /// Saves a PNG of the window as target/ui-screenshots/NAME.png.
    pub async fn screenshot(&self, name: &str) -> Result<()> {
        let dir = repo_root().join("target/ui-screenshots");
        std::fs::create_dir_all(&dir)?;
        let png = self.client.screenshot().await?;
        std::fs::write(dir.join(format!("{name}.png")), png)?;
        Ok(())
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

/// A running `kubectl argo ui`, stopped when dropped.
pub struct Ui {
    child: Child,
    /// The URL it printed, with its token.
    pub url: String,
    pub port: u16,
}

impl Drop for Ui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Ui {
    /// Runs `cmd` (`kubectl argo ui ... --port 0 --no-open`, or the plugin
    /// binary itself) and returns once it printed the URL it serves.
    pub fn start(mut cmd: Command) -> Result<Ui> {
        let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("starting {cmd:?}"))?;
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().context("stdout")?));
        let first = lines.next().context("kubectl argo ui printed nothing")??;
        // Keep reading so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let url = first.split_whitespace().find(|w| w.starts_with("http://")).context("no URL")?.to_owned();
        let port = url.split(':').nth(2).and_then(|p| p.split('/').next()).context("port")?.parse()?;
        Ok(Ui { child, url, port })
    }

    /// `http://127.0.0.1:PORT`, for paths after the token was traded.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
