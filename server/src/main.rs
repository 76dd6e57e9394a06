//! Starts Jarvis: telemetry, configuration, the application, and a graceful stop on SIGTERM/SIGINT.

use jarvis_server::{config::Config, shutdown, startup::Application, telemetry};

/// Stack of each runtime thread. Server-side rendering of a deep Leptos view nests many futures;
/// unoptimised (debug) builds need more than the 2 MiB default.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()?
        .block_on(serve())
}

async fn serve() -> anyhow::Result<()> {
    // A missing .env is normal; a broken one is reported by the configuration it fails to give.
    let dotenv = dotenvy::dotenv();
    let config = Config::from_env()?;
    telemetry::init(config.log_format);
    if let Ok(path) = dotenv {
        tracing::info!(path = %path.display(), "config.dotenv_loaded");
    }
    tracing::info!(?config, "config.loaded");

    let application = Application::build(config).await?;
    application.run_until(shutdown::signal()).await?;
    Ok(())
}
