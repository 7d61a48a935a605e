//! Benchmark driver; the scripts in bench/ start the cluster and run it.

mod cluster;
mod controller;
mod plugin;
mod procstat;
mod ui;
mod webhook;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "argo-bench", about = "Benchmarks against the local cluster")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Controller throughput, per-step latency, CPU and memory
    Controller(controller::Args),
    /// Webhook latency, throughput and memory, direct and through the apiserver
    Webhook(webhook::Args),
    /// Plugin start-up, list against kubectl get, get of a big workflow
    Plugin(plugin::Args),
    /// The web UI in headless chromium: list first paint, graph of a big workflow
    Ui(ui::Args),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    match Cli::parse().command {
        Command::Controller(args) => controller::run(args).await,
        Command::Webhook(args) => webhook::run(args).await,
        Command::Plugin(args) => plugin::run(args).await,
        Command::Ui(args) => ui::run(args).await,
    }
}
