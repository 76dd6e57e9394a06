//! The process-wide stop signal.

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM (what orchestrators send).
pub async fn signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "shutdown.sigint_handler_failed");
            std::future::pending::<()>().await;
        }
    };

    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "shutdown.sigterm_handler_failed");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = interrupt => tracing::info!(signal = "SIGINT", "shutdown.signal_received"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutdown.signal_received"),
    }
}
