//! One shutdown signal for everything.

/// The first SIGTERM/SIGINT sends `true` on `stop`; a second exits at once.
pub async fn stop_on_signals(stop: tokio::sync::watch::Sender<bool>) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        return;
    };
    for count in 0.. {
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        if count > 0 {
            tracing::warn!("second signal: exiting now");
            std::process::exit(130);
        }
        let _ = stop.send(true);
    }
}
