//! The server under test, as a child process: started on a free port with a configuration of the
//! benchmark's making (its own database, the fake model, a fixed JWT secret, voice and billing
//! off), watched through `/proc` (CPU time and resident memory), and stopped with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::process::{Child, Command};

/// What the child is started with.
#[derive(Debug)]
pub struct ServerSettings {
    pub binary: PathBuf,
    pub owner_url: String,
    pub app_url: String,
    pub model_url: String,
    pub jwt_secret: String,
    pub db_max_connections: u32,
    /// Logs, the outbox and object storage go here; it is also the working directory, so that no
    /// `.env` of the developer's is read.
    pub work_dir: PathBuf,
}

/// The running child.
pub struct ChildServer {
    child: Child,
    pub pid: u32,
    pub url: String,
    pub log: PathBuf,
}

/// A free TCP port on 127.0.0.1 (free when asked; the server binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl ChildServer {
    pub async fn start(settings: &ServerSettings) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.work_dir).context("creating the server's folder")?;
        let port = free_port()?;
        let url = format!("http://127.0.0.1:{port}");
        let log = settings.work_dir.join("server.log");
        let log_file = std::fs::File::create(&log).context("creating the server log")?;
        let mut command = Command::new(&settings.binary);
        // Only what the benchmark chooses (plus PATH, HOME and RUST_LOG): no Stripe key from the
        // caller's environment, no S3 store, nothing from a .env.
        command.env_clear();
        for inherited in ["PATH", "HOME", "RUST_LOG"] {
            if let Ok(value) = std::env::var(inherited) {
                command.env(inherited, value);
            }
        }
        let dir = |name: &str| settings.work_dir.join(name).display().to_string();
        command
            .env("DATABASE_URL", &settings.owner_url)
            .env("DATABASE_APP_URL", &settings.app_url)
            .env("JARVIS_ADDR", format!("127.0.0.1:{port}"))
            .env("JARVIS_METRICS_ADDR", "127.0.0.1:0")
            .env("JARVIS_PUBLIC_URL", &url)
            .env("JARVIS_JWT_SECRET", &settings.jwt_secret)
            .env("JARVIS_DB_MAX_CONNECTIONS", settings.db_max_connections.to_string())
            .env("JARVIS_SHUTDOWN_GRACE_SECS", "5")
            .env("JARVIS_VOICE_ENGINE", "off")
            .env("JARVIS_OUTBOX_DIR", dir("outbox"))
            .env("JARVIS_STORAGE", "local")
            .env("JARVIS_STORAGE_DIR", dir("objects"))
            .env("JARVIS_SITE_ROOT", dir("site"))
            .env("ANTHROPIC_BASE_URL", &settings.model_url)
            .env("ANTHROPIC_API_KEY", "sk-ant-load-test")
            .current_dir(&settings.work_dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true);
        let binary = &settings.binary;
        let mut child = command.spawn().with_context(|| format!("starting {}", binary.display()))?;
        let pid = child.id().context("the server has a process id")?;
        let ready = wait_until_ready(&url, &mut child).await;
        let server = Self { child, pid, url, log };
        if let Err(error) = ready {
            let tail = server.log_tail(30);
            server.stop().await;
            return Err(error.context(format!("the server did not become ready; its log ends:\n{tail}")));
        }
        Ok(server)
    }

    /// The last `lines` lines of the server's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Whether the child has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM (with kill(1): this crate has no unsafe code), then up to 15 s for a graceful
    /// exit, then SIGKILL.
    pub async fn stop(mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.pid.to_string()]).status().await;
        if tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await.is_err() {
            let _ = self.child.kill().await;
        }
    }
}

async fn wait_until_ready(url: &str, child: &mut Child) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(2)).build()?;
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::bail!("the server exited with {status}");
        }
        if let Ok(response) = http.get(format!("{url}/readyz")).send().await
            && response.status().is_success()
        {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "no 200 from {url}/readyz within 120 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A process's CPU time so far, in microseconds (user + system, from `/proc/<pid>/stat`).
pub fn cpu_micros(stat_path: &Path) -> Option<u64> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain numbers.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 1_000_000 / clock_ticks_per_second())
}

/// The whole machine's busy and total CPU time so far, in clock ticks summed over all cores
/// (the first line of `/proc/stat`; idle and iowait count as not busy).
pub fn machine_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> =
        stat.lines().next()?.split_whitespace().skip(1).filter_map(|field| field.parse().ok()).collect();
    let total: u64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some((total - idle, total))
}

/// Resident memory of a process in KiB (`VmRSS` from `/proc/<pid>/status`).
pub fn rss_kib(status_path: &Path) -> Option<u64> {
    let status = std::fs::read_to_string(status_path).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `/proc` counts CPU time in clock ticks of `sysconf(_SC_CLK_TCK)`, asked of getconf(1) once
/// (100 on every common Linux).
fn clock_ticks_per_second() -> u64 {
    use std::sync::OnceLock;
    static TICKS: OnceLock<u64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse().ok())
            .filter(|ticks| *ticks > 0)
            .unwrap_or(100)
    })
}

/// The `/proc` files of a process.
#[derive(Debug, Clone)]
pub struct Watched {
    pub stat: PathBuf,
    pub status: PathBuf,
}

impl Watched {
    pub fn pid(pid: u32) -> Self {
        Self { stat: format!("/proc/{pid}/stat").into(), status: format!("/proc/{pid}/status").into() }
    }

    pub fn this_process() -> Self {
        Self { stat: "/proc/self/stat".into(), status: "/proc/self/status".into() }
    }
}

/// Raises this process's open-file limit to its hard limit (children inherit it); returns the
/// new soft limit.
pub fn raise_open_file_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_cpu_time_and_resident_memory() {
        let me = Watched::this_process();
        assert!(cpu_micros(&me.stat).is_some());
        assert!(rss_kib(&me.status).is_some_and(|kib| kib > 0));
    }
}
