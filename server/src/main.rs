//! Starts Jarvis: telemetry, configuration, the application, and a graceful stop on SIGTERM/SIGINT;
//! or runs one operator command (`jarvis-server --help`).

use clap::Parser;
use jarvis_server::cli::{Cli, Command, admin, objects};
use jarvis_server::{config::Config, shutdown, startup::Application, telemetry};

/// jemalloc rather than glibc's malloc, for the 19 MiB each argon2 hash allocates: glibc keeps
/// such a block in the arena of the thread that freed it (its mmap threshold rises to the block's
/// size after the first free), so an instance that had served logins stayed hundreds of MB larger
/// for good. jemalloc gives allocations over 8 MiB back to the system as soon as they are freed.
/// Measured with argon2 alone (400 hashes, two at a time): glibc 839 MB resident afterwards,
/// mimalloc 49–68 MB falling to 11 MB once idle, jemalloc 4.4 MB throughout; reusing one block per
/// thread kept 80 MB while the threads lived. `cargo bench -p jarvis-server --bench memory`
/// measures the whole server.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Stack of each runtime thread. Server-side rendering of a deep Leptos view nests many futures;
/// unoptimised (debug) builds need more than the 2 MiB default.
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()?;
    match cli.command {
        None | Some(Command::Serve) => runtime.block_on(serve()),
        Some(Command::Admin(command)) => runtime.block_on(admin::run(command)),
        Some(Command::Objects(command)) => runtime.block_on(objects::run(command)),
    }
}

async fn serve() -> anyhow::Result<()> {
    // A missing .env is normal; a broken one is reported by the configuration it fails to give.
    let dotenv = dotenvy::dotenv();
    let config = Config::from_env()?;
    let telemetry = telemetry::init(config.log_format);
    if let Ok(path) = dotenv {
        tracing::info!(path = %path.display(), "config.dotenv_loaded");
    }
    tracing::info!(?config, "config.loaded");

    let application = Application::build(config).await?;
    let served = application.run_until(shutdown::signal()).await;
    // The last spans (this run's requests) leave before the process does.
    telemetry.shutdown().await;
    served?;
    Ok(())
}
