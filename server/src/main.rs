//! Starts Jarvis: telemetry, configuration, the application, and a graceful stop on SIGTERM/SIGINT.

use jarvis_server::{config::Config, shutdown, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
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
