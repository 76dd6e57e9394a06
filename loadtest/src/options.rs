//! The command line, read once into one typed struct.

use std::path::PathBuf;
use std::time::Duration;

pub const USAGE: &str = "\
jarvis-load: ramps concurrent streaming users against a Jarvis server and prints one table row per step.

Usage: jarvis-load [options]

  --steps 100,500,1000,2000,5000   concurrent users of each step
  --deltas 100                     text deltas per reply
  --delta-interval-ms 20           pause between deltas (20 ms: 50 deltas/s per reply)
  --server-bin PATH                the server to start (default target/release/jarvis-server)
  --server-url URL                 use a server already running instead (only the client side);
                                   it must use --database-url, --jwt-secret and the fake model
                                   at --model-addr
  --server-pid PID                 with --server-url: the server's process, for CPU and memory
  --database-url URL               the owner role's URL (default $DATABASE_URL, else
                                   postgres://jarvis:jarvis@127.0.0.1:5432/jarvis); a fresh
                                   database is created beside it and dropped at the end, or with
                                   --server-url it is the server's own database
  --app-database-url URL           the application role's URL (default $DATABASE_APP_URL, else
                                   postgres://jarvis_app:jarvis_app@127.0.0.1:5432/jarvis)
  --jwt-secret SECRET              with --server-url: its JARVIS_JWT_SECRET (default $JARVIS_JWT_SECRET)
  --model-addr ADDR                where the fake model listens (default 127.0.0.1:0)
  --db-max-connections 10          the started server's JARVIS_DB_MAX_CONNECTIONS
  --database-tls                   let the started server reach a Postgres on this machine over
                                   TLS as the URLs ask (sqlx prefers it); by default it is given
                                   the URLs with sslmode=disable when they name a loopback host
                                   and no sslmode, as a same-machine deployment would be set up
  --open-concurrency 64            sockets being opened at once
  --spread-ms 1000                 the users of a step send within this window
  --step-timeout-secs 300          a step still running after this is cut short (and the ramp ends)
  --quiet                          print only the table
  --help                           this text

Exits 1 if any event was lost, duplicated or out of order or any exchange failed, 2 if the
benchmark could not run.";

#[derive(Debug, Clone)]
pub struct Options {
    pub steps: Vec<usize>,
    pub deltas: u32,
    pub delta_interval: Duration,
    pub server_bin: PathBuf,
    pub server_url: Option<String>,
    pub server_pid: Option<u32>,
    pub database_url: String,
    pub app_database_url: String,
    pub jwt_secret: Option<String>,
    pub model_addr: String,
    pub db_max_connections: u32,
    /// Keep TLS to a loopback Postgres (see `--database-tls`).
    pub database_tls: bool,
    pub open_concurrency: usize,
    pub spread: Duration,
    pub step_timeout: Duration,
    pub quiet: bool,
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Parsed {
    Run(Box<Options>),
    Help,
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value.parse().map_err(|_| format!("{flag}: not a number: {value}"))
}

impl Options {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
        let mut options = Self {
            steps: vec![100, 500, 1000, 2000, 5000],
            deltas: 100,
            delta_interval: Duration::from_millis(20),
            server_bin: PathBuf::from("target/release/jarvis-server"),
            server_url: None,
            server_pid: None,
            database_url: std::env::var("DATABASE_URL")
                .unwrap_or_else(|_| "postgres://jarvis:jarvis@127.0.0.1:5432/jarvis".to_owned()),
            app_database_url: std::env::var("DATABASE_APP_URL")
                .unwrap_or_else(|_| "postgres://jarvis_app:jarvis_app@127.0.0.1:5432/jarvis".to_owned()),
            jwt_secret: std::env::var("JARVIS_JWT_SECRET").ok(),
            model_addr: "127.0.0.1:0".to_owned(),
            db_max_connections: 10,
            database_tls: false,
            open_concurrency: 64,
            spread: Duration::from_millis(1000),
            step_timeout: Duration::from_secs(300),
            quiet: false,
        };
        let mut args = args.into_iter();
        while let Some(flag) = args.next() {
            match flag.as_str() {
                "--help" | "-h" => return Ok(Parsed::Help),
                "--quiet" | "-q" => {
                    options.quiet = true;
                    continue;
                }
                "--database-tls" => {
                    options.database_tls = true;
                    continue;
                }
                _ => {}
            }
            let (flag, value) = match flag.split_once('=') {
                Some((flag, value)) => (flag.to_owned(), value.to_owned()),
                None => {
                    let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
                    (flag, value)
                }
            };
            match flag.as_str() {
                "--steps" => {
                    options.steps =
                        value.split(',').map(|step| number(&flag, step.trim())).collect::<Result<_, _>>()?;
                    if options.steps.is_empty() || options.steps.contains(&0) {
                        return Err("--steps: give positive numbers of users, e.g. 100,500".into());
                    }
                }
                "--deltas" => options.deltas = number(&flag, &value)?,
                "--delta-interval-ms" => {
                    options.delta_interval = Duration::from_millis(number(&flag, &value)?)
                }
                "--server-bin" => options.server_bin = PathBuf::from(value),
                "--server-url" => options.server_url = Some(value.trim_end_matches('/').to_owned()),
                "--server-pid" => options.server_pid = Some(number(&flag, &value)?),
                "--database-url" => options.database_url = value,
                "--app-database-url" => options.app_database_url = value,
                "--jwt-secret" => options.jwt_secret = Some(value),
                "--model-addr" => options.model_addr = value,
                "--db-max-connections" => options.db_max_connections = number(&flag, &value)?,
                "--open-concurrency" => options.open_concurrency = number(&flag, &value)?,
                "--spread-ms" => options.spread = Duration::from_millis(number(&flag, &value)?),
                "--step-timeout-secs" => options.step_timeout = Duration::from_secs(number(&flag, &value)?),
                other => return Err(format!("unknown option {other} (see --help)")),
            }
        }
        if options.deltas == 0 {
            return Err("--deltas: at least 1".into());
        }
        if options.server_url.is_some() && options.jwt_secret.is_none() {
            return Err(
                "--server-url needs the server's JWT secret: --jwt-secret or JARVIS_JWT_SECRET".into()
            );
        }
        Ok(Parsed::Run(Box::new(options)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        match Options::parse(args.iter().map(|arg| (*arg).to_owned()))? {
            Parsed::Run(options) => Ok(*options),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn flags_take_a_value_after_them_or_after_an_equals_sign() {
        let options = parse(&["--steps", "20,100", "--deltas=50", "--delta-interval-ms", "10", "--quiet"])
            .expect("valid");
        assert_eq!(options.steps, vec![20, 100]);
        assert_eq!((options.deltas, options.delta_interval), (50, Duration::from_millis(10)));
        assert!(options.quiet);
        assert!(!options.database_tls);
        assert!(parse(&["--database-tls"]).expect("valid").database_tls);
    }

    #[test]
    fn an_unknown_flag_or_a_bad_number_is_refused() {
        assert!(parse(&["--users", "5"]).is_err());
        assert!(parse(&["--steps", "10,x"]).is_err());
        assert!(parse(&["--steps", "0"]).is_err());
    }
}
