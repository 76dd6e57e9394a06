//! `jarvis-load`: the project's load benchmark. Runs a fake model in process, starts the server
//! on a fresh database (or uses one already running), puts users straight into the database with
//! sessions and signed access tokens, and ramps concurrent streaming users step by step, printing
//! for each step the delivery latency, correctness (lost, duplicated, reordered events) and what
//! the server and the database spent. Timings are reported, never asserted; wrong deliveries and
//! failed exchanges make the exit status 1.

mod database;
mod fake_model;
mod marker;
mod options;
mod server;
mod step;
mod user;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use jarvis_backend::accounts::jwt::AccessTokens;
use secrecy::SecretString;

use crate::database::LoadUser;
use crate::fake_model::{FakeModel, Pace};
use crate::options::{Options, Parsed};
use crate::server::{ChildServer, ServerSettings, Watched};
use crate::step::{Bench, StepReport};
use crate::user::Target;

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(options)) => *options,
        Ok(Parsed::Help) => {
            println!("{}", options::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("jarvis-load: {message}");
            return ExitCode::from(2);
        }
    };
    // Thousands of sockets on each side: the server started below inherits the raised limit.
    let open_files = server::raise_open_file_limit();
    let needed = options.steps.iter().max().copied().unwrap_or(0) * 2 + 256;
    if open_files.is_some_and(|limit| limit < needed as u64) && !options.quiet {
        eprintln!("jarvis-load: the open-file limit ({open_files:?}) may be too low for {needed} sockets");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("jarvis-load: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(options)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("jarvis-load: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// What must be undone at the end, however the run ends.
#[derive(Default)]
struct Resources {
    server: Option<ChildServer>,
    database: Option<(String, String)>,
    /// The server's folder (its log, outbox and objects).
    work_dir: Option<std::path::PathBuf>,
    /// Users put into a database the benchmark did not create, to delete at the end.
    users: Option<(sqlx::PgPool, Vec<LoadUser>)>,
}

impl Resources {
    /// Stops the server and drops the database; the server's folder is removed unless
    /// `keep_log` (then its log is there to read).
    async fn release(&mut self, keep_log: bool) {
        if let Some((pool, users)) = self.users.take()
            && let Err(error) = database::delete_users(&pool, &users).await
        {
            eprintln!("jarvis-load: could not delete the benchmark's users: {error:#}");
        }
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        if let Some(dir) = self.work_dir.take() {
            if keep_log {
                eprintln!("jarvis-load: the server's log is kept in {}", dir.join("server.log").display());
            } else {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        if let Some((owner_url, name)) = self.database.take()
            && let Err(error) = database::drop(&owner_url, &name).await
        {
            eprintln!("jarvis-load: could not drop database {name}: {error:#}");
        }
    }
}

/// Runs the ramp; `Ok(true)` when every delivery was correct.
async fn run(options: Options) -> anyhow::Result<bool> {
    let mut resources = Resources::default();
    let outcome = tokio::select! {
        outcome = ramp(&options, &mut resources) => outcome,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    if let (Err(_), Some(server)) = (&outcome, resources.server.as_ref())
        && !options.quiet
    {
        eprintln!("jarvis-load: the server's log ({}) ends:\n{}", server.log.display(), server.log_tail(20));
    }
    resources.release(!matches!(outcome, Ok(true))).await;
    outcome
}

fn say(options: &Options, message: &str) {
    if !options.quiet {
        eprintln!("{message}");
    }
}

async fn ramp(options: &Options, resources: &mut Resources) -> anyhow::Result<bool> {
    let pace = Pace { deltas: options.deltas, interval: options.delta_interval };
    let fake =
        Arc::new(FakeModel::start(&options.model_addr, pace).await.context("starting the fake model")?);
    say(
        options,
        &format!(
            "fake model on {} ({} deltas per reply, one every {} ms)",
            fake.base_url(),
            options.deltas,
            options.delta_interval.as_millis()
        ),
    );

    let (server_url, db_url, jwt_secret, watched) = match &options.server_url {
        Some(url) => {
            let secret = options.jwt_secret.clone().context("the server's JWT secret")?;
            (url.clone(), options.database_url.clone(), secret, options.server_pid.map(Watched::pid))
        }
        None => {
            let name = database::create(&options.database_url).await?;
            resources.database = Some((options.database_url.clone(), name.clone()));
            let mut owner_url = database::with_database(&options.database_url, &name)?;
            let mut app_url = database::with_database(&options.app_database_url, &name)?;
            if !options.database_tls {
                owner_url = database::without_loopback_tls(&owner_url)?;
                app_url = database::without_loopback_tls(&app_url)?;
            }
            let secret = format!("load-{}-{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
            let binary = std::fs::canonicalize(&options.server_bin)
                .with_context(|| format!("the server binary {}", options.server_bin.display()))?;
            let settings = ServerSettings {
                binary,
                owner_url: owner_url.clone(),
                app_url,
                model_url: fake.base_url(),
                jwt_secret: secret.clone(),
                db_max_connections: options.db_max_connections,
                work_dir: std::env::temp_dir().join(&name),
            };
            resources.work_dir = Some(settings.work_dir.clone());
            let server = ChildServer::start(&settings).await?;
            say(
                options,
                &format!(
                    "server {} (pid {}) on {}, database {name}{}, log {}",
                    settings.binary.display(),
                    server.pid,
                    server.url,
                    if settings.app_url.contains("sslmode=disable") { " (no TLS)" } else { "" },
                    server.log.display()
                ),
            );
            let watched = Some(Watched::pid(server.pid));
            let url = server.url.clone();
            resources.server = Some(server);
            (url, owner_url, secret, watched)
        }
    };

    let pool = database::owner_pool(&db_url).await?;
    let most = options.steps.iter().copied().max().unwrap_or(0);
    let users = database::create_users(&pool, most).await?;
    if options.server_url.is_some() {
        resources.users = Some((pool.clone(), users.clone()));
    }
    say(options, &format!("{most} users with sessions created"));

    let ws_url = format!("{}/ws", server_url.replacen("http", "ws", 1));
    let bench = Bench {
        target: Target { ws_url, origin: server_url.clone() },
        tokens: AccessTokens::new(&SecretString::from(jwt_secret), Duration::from_secs(3600)),
        fake: Arc::clone(&fake),
        pool: Some(pool),
        server: watched,
        open_concurrency: options.open_concurrency,
        spread: options.spread,
        step_timeout: options.step_timeout,
        quiet: options.quiet,
    };

    println!("{}", StepReport::HEADER);
    let mut correct = true;
    for (number, &count) in options.steps.iter().enumerate() {
        say(options, &format!("step {}: {count} users", number + 1));
        let report = bench.step(number + 1, &users[..count]).await;
        println!("{}", report.row());
        if !options.quiet {
            for (kind, users) in report.error_kinds.iter().take(8) {
                eprintln!("  {users} × {kind}");
            }
        }
        correct &= !report.incorrect();
        if let Some(server) = resources.server.as_mut()
            && let Some(status) = server.exited()
        {
            anyhow::bail!("the server exited during step {} ({status})", number + 1);
        }
        if report.collapsed() && number + 1 < options.steps.len() {
            say(
                options,
                &format!("step {} collapsed (errors or the step timeout); stopping the ramp", number + 1),
            );
            break;
        }
    }
    if fake.untagged_requests() > 0 {
        say(
            options,
            &format!("the fake model got {} requests from no benchmark user", fake.untagged_requests()),
        );
    }
    Ok(correct)
}
