//! The local topology, `scripts/topology` (compose.yaml's deployment as processes on this
//! machine): the script starts two `jarvis-server` instances on one test database and one object
//! store (SeaweedFS from target/pyenv when there, else a shared folder; the folder under
//! `JARVIS_TEST_SKIP_S3=1`) with nginx in front, and the model is the in-process fake. A user
//! signs up and chats through nginx while `scripts/topology restart` deploys over each instance in
//! turn, the one holding the socket first; the client reconnects and resumes as the browser does.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jarvis_types::protocol::{ClientMessage, RunEvent, RunStatus, ServerMessage};
use prometheus_parse::{Scrape, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::chat::ask;
use crate::faults::{Viewer, assert_contiguous, counting_text, fake_model, shown_text, stored_replies};
use crate::helpers::{app_database_url, owner_database_url, with_database};
use crate::instances::{Cluster, Endpoint, User};
use crate::library::PNG;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/topology");

/// Words in the slow reply and the time between two of them: long enough that the first
/// restart lands while it streams (that restart is what closes its socket).
const WORDS: usize = 120;
const PER_WORD: Duration = Duration::from_millis(50);

/// What `scripts/topology up` started, from its `topology.env`. Dropping it runs
/// `scripts/topology down` (and prints every log when the test is failing).
struct Topology {
    dir: PathBuf,
    values: HashMap<String, String>,
    down: bool,
}

impl Topology {
    /// `scripts/topology up DIR` with `settings` on top of a clean environment of ours.
    async fn up(dir: &Path, settings: Vec<(String, String)>) -> Self {
        let mut command = Command::new("bash");
        command.arg(SCRIPT).arg("up").arg(dir);
        // Only what this test says reaches the instances, not the developer's own settings.
        for (name, _) in std::env::vars() {
            let passed = ["JARVIS_", "ANTHROPIC_", "OPENAI_", "STRIPE_", "OTEL_", "PIPER_"];
            if passed.iter().any(|prefix| name.starts_with(prefix)) && name != "JARVIS_TEST_NGINX" {
                command.env_remove(name);
            }
        }
        command.envs(settings);
        let output = run(command).await;
        let mut topology = Self { dir: dir.to_owned(), values: HashMap::new(), down: false };
        assert!(output.status.success(), "scripts/topology up failed:\n{}", described(&output));
        topology.reload();
        topology
    }

    /// Reads `topology.env` again (a restart changes a process id).
    fn reload(&mut self) {
        let text = std::fs::read_to_string(self.dir.join("topology.env")).expect("read topology.env");
        self.values = text
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
    }

    fn value(&self, key: &str) -> &str {
        self.values.get(key).unwrap_or_else(|| panic!("{key} in topology.env: {:?}", self.values))
    }

    fn instances(&self) -> usize {
        self.value("JARVIS_TOPOLOGY_INSTANCES").parse().expect("a count")
    }

    fn instance_port(&self, i: usize) -> u16 {
        self.value(&format!("JARVIS_TOPOLOGY_INSTANCE_{i}_PORT")).parse().expect("a port")
    }

    fn pids(&self) -> Vec<u32> {
        let mut names = vec!["JARVIS_TOPOLOGY_BALANCER_PID".to_owned()];
        names.extend((1..=self.instances()).map(|i| format!("JARVIS_TOPOLOGY_INSTANCE_{i}_PID")));
        names.push("JARVIS_TOPOLOGY_S3_PID".to_owned());
        names.iter().filter_map(|name| self.values.get(name)?.parse().ok()).collect()
    }

    /// Instance `i`'s open WebSockets, from its own metrics address.
    async fn open_sockets(&self, i: usize) -> f64 {
        let port = self.value(&format!("JARVIS_TOPOLOGY_INSTANCE_{i}_METRICS_PORT"));
        let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
            .await
            .expect("the instance's metrics answer")
            .text()
            .await
            .expect("a body");
        let scrape = Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text");
        scrape
            .samples
            .iter()
            .filter(|sample| sample.metric == "jarvis_websockets_open")
            .map(|sample| match sample.value {
                Value::Gauge(value) | Value::Untyped(value) => value,
                _ => 0.0,
            })
            .sum()
    }

    fn down_now(&mut self) -> Output {
        self.down = true;
        Command::new("bash")
            .arg(SCRIPT)
            .arg("down")
            .arg(&self.dir)
            .output()
            .expect("run scripts/topology down")
    }

    fn logs(&self) -> String {
        let mut logs = String::new();
        let mut files: Vec<PathBuf> =
            (1..=self.instances()).map(|i| self.dir.join(format!("instance-{i}/server.log"))).collect();
        files.extend(["nginx/error.log", "s3/weed.log"].map(|file| self.dir.join(file)));
        for file in files {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(200)..].join("\n");
                logs.push_str(&format!("----- {} -----\n{tail}\n", file.display()));
            }
        }
        logs
    }
}

impl Endpoint for Topology {
    fn base_url(&self) -> String {
        self.value("JARVIS_TOPOLOGY_URL").to_owned()
    }

    fn port(&self) -> u16 {
        self.value("JARVIS_TOPOLOGY_BALANCER_PORT").parse().expect("a port")
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.values.is_empty() {
            eprintln!("{}", self.logs());
        }
        if !self.down {
            let output = self.down_now();
            if !output.status.success() {
                eprintln!("scripts/topology down failed:\n{}", described(&output));
            }
        }
    }
}

/// Runs a command to its end off the async threads.
async fn run(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().expect("run scripts/topology"))
        .await
        .expect("the command's thread")
}

fn described(output: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Opens the user's chat socket through `via` and reads its `Hello`, trying again while an
/// instance restarts (as the browser's reconnect does) until `deadline`.
async fn reconnect(user: &User, via: &impl Endpoint, deadline: Instant) -> Viewer {
    let url = format!("ws://localhost:{}/ws", via.port());
    let mut last_failure = String::from("no attempt");
    loop {
        assert!(
            Instant::now() < deadline,
            "no socket opened through the balancer in time; last: {last_failure}"
        );
        let mut request = url.as_str().into_client_request().expect("a request");
        let cookie = format!("jarvis_access={}", user.access_token());
        request.headers_mut().insert("cookie", HeaderValue::from_str(&cookie).expect("a header"));
        match tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(request)).await {
            Err(_) => last_failure = "the upgrade took over 10 s".to_owned(),
            Ok(Err(error)) => last_failure = format!("the upgrade failed: {error}"),
            Ok(Ok((mut socket, _))) => {
                let first = tokio::time::timeout(Duration::from_secs(10), socket.next()).await;
                if let Ok(Some(Ok(Message::Text(text)))) = &first
                    && let Ok(ServerMessage::Hello { .. }) = serde_json::from_str(text.as_str())
                {
                    return Viewer { socket, messages: Vec::new(), last_sent: Instant::now() };
                }
                last_failure = format!("no Hello but {first:?}");
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Asserts that every `scripts/topology restart` succeeded; the instances restarted, in order.
fn assert_restarted(outputs: Vec<(usize, Output)>) -> Vec<usize> {
    for (i, output) in &outputs {
        assert!(output.status.success(), "scripts/topology restart of instance {i}:\n{}", described(output));
    }
    outputs.into_iter().map(|(i, _)| i).collect()
}

/// Whether a process runs (a zombie counts as ended).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .is_ok_and(|status| !status.lines().any(|line| line.starts_with("State:") && line.contains('Z')))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_through_the_scripted_topology_survives_each_instance_restarting_in_turn() {
    let text = counting_text(WORDS);
    let fake = fake_model(&text, PER_WORD).await;
    let cluster = Cluster::new().await;
    let dir = std::env::temp_dir().join(format!("jarvis-topology-{}", cluster.database_name));
    let skip_s3 = std::env::var("JARVIS_TEST_SKIP_S3").is_ok_and(|value| value == "1");
    let (mail_name, mail_value) = cluster.mail_setting();
    let mut settings: Vec<(String, String)> = [
        ("JARVIS_SERVER_BIN", env!("CARGO_BIN_EXE_jarvis-server").to_owned()),
        ("DATABASE_URL", with_database(&owner_database_url(), &cluster.database_name)),
        ("DATABASE_APP_URL", with_database(&app_database_url(), &cluster.database_name)),
        ("ANTHROPIC_BASE_URL", fake.base_url()),
        ("ANTHROPIC_API_KEY", "test".to_owned()),
        ("JARVIS_VOICE_ENGINE", "off".to_owned()),
        // Long enough for the reply to finish while its instance drains.
        ("JARVIS_SHUTDOWN_GRACE_SECS", "30".to_owned()),
        ("JARVIS_MAIL_FROM", "Jarvis <jarvis@jarvis.test>".to_owned()),
        ("RUST_LOG", "info,sqlx=warn,tower_http=warn".to_owned()),
        ("NO_COLOR", "1".to_owned()),
        (mail_name, mail_value),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    if skip_s3 {
        settings.push(("JARVIS_TOPOLOGY_STORAGE".to_owned(), "local".to_owned()));
    }
    let mut topology = Topology::up(&dir, settings).await;
    assert_eq!(topology.instances(), 2, "two instances by default");
    let weed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pyenv/bin/weed");
    let expected_storage = if !skip_s3 && weed.exists() { "s3" } else { "local" };
    assert_eq!(topology.value("JARVIS_TOPOLOGY_STORAGE"), expected_storage);

    // Registration, the mailed link, log-in, uploads and the socket all go through nginx.
    let user = cluster.sign_up(&topology).await;

    // One object store: a file uploaded through the balancer is served by every instance.
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("pixel.png"));
    let uploaded = user
        .http
        .post(format!("{}/api/uploads", topology.base_url()))
        .header("origin", topology.base_url())
        .multipart(form)
        .send()
        .await
        .expect("the balancer answers");
    assert_eq!(uploaded.status(), 200, "upload through the balancer");
    let report: serde_json::Value = uploaded.json().await.expect("the upload's report");
    let file_id = report["uploaded"][0]["file"]["id"].as_str().expect("a file id").to_owned();
    for i in 1..=2 {
        let served = user
            .http
            .get(format!("http://localhost:{}/api/files/{file_id}", topology.instance_port(i)))
            .send()
            .await
            .expect("the instance answers");
        assert_eq!(served.status(), 200, "instance {i} serves the file");
        assert_eq!(served.bytes().await.expect("its bytes").as_ref(), PNG, "instance {i}'s copy");
    }

    // A long reply starts streaming through nginx.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut viewer = reconnect(&user, &topology, deadline).await;
    viewer.send(&ask(None, "Count, slowly")).await;
    viewer
        .until(deadline, |viewer| {
            viewer.run_started_after(0).is_some_and(|(run_id, _)| viewer.text(&run_id).len() > 20)
        })
        .await
        .expect("the reply starts streaming through the balancer");
    let (run_id, conversation_id) = viewer.run_started_after(0).expect("a run");

    // The instance holding the socket is the one counting it open.
    let mut holders = Vec::new();
    for i in 1..=2 {
        if topology.open_sockets(i).await >= 1.0 {
            holders.push(i);
        }
    }
    assert_eq!(holders.len(), 1, "exactly one instance holds the one socket: {holders:?}");
    let holder = holders[0];
    let other = 3 - holder;

    // Each instance is deployed over in turn, the holder first, while the client follows the run
    // and, whenever its socket closes, reconnects through nginx and resumes after the last event.
    let mut restarts = Some({
        let dir = topology.dir.clone();
        tokio::spawn(async move {
            let mut outputs = Vec::new();
            for i in [holder, other] {
                let mut command = Command::new("bash");
                command.arg(SCRIPT).arg("restart").arg(&dir).arg(i.to_string());
                // Deploys over instance i: SIGTERM, drained, started again, ready.
                let output = run(command).await;
                let failed = !output.status.success();
                outputs.push((i, output));
                if failed {
                    break;
                }
            }
            outputs
        })
    });
    let mut restarted = None;
    let mut received: Vec<(u64, RunEvent)> = Vec::new();
    let mut reconnections = 0;
    loop {
        let followed = viewer.until(deadline, |viewer| viewer.finished(&run_id).is_some()).await;
        received.extend(viewer.events(&run_id));
        match followed {
            Ok(()) => break,
            Err(why) => {
                assert!(Instant::now() < deadline, "the run did not finish in time: {why}");
                // An instance that did not come back is the failure to report, not what follows.
                if restarts.as_ref().is_some_and(tokio::task::JoinHandle::is_finished) {
                    let task = restarts.take().expect("the restarts' task");
                    restarted = Some(assert_restarted(task.await.expect("the restarts' task")));
                }
                reconnections += 1;
                let after_seq = received.last().map_or(0, |(seq, _)| *seq);
                let resume = ClientMessage::Resume { run_id: run_id.clone(), after_seq };
                let resume = Message::text(serde_json::to_string(&resume).expect("a message"));
                viewer = reconnect(&user, &topology, deadline).await;
                // A socket that closes before this is sent is reconnected on the next turn.
                let _ = viewer.socket.send(resume).await;
                viewer.last_sent = Instant::now();
            }
        }
    }
    drop(viewer);
    let restarted = match (restarted, restarts) {
        (Some(outputs), _) => outputs,
        (None, Some(task)) => assert_restarted(task.await.expect("the restarts' task")),
        (None, None) => unreachable!("the restarts are awaited once"),
    };
    assert_eq!(restarted, [holder, other], "each instance restarted in turn, the holder first");
    topology.reload();
    assert!(reconnections >= 1, "restarting the holder closed the socket the reply streamed on");

    // Every event once, in order; the whole reply; one stored reply, complete.
    assert_contiguous(&received);
    let shown = shown_text(&received);
    assert_eq!(shown, text, "the whole reply, once, in order");
    assert!(
        matches!(received.last(), Some((_, RunEvent::Finished { status: RunStatus::Completed, .. }))),
        "{:?}",
        received.last()
    );
    assert_eq!(
        stored_replies(&cluster, &conversation_id).await,
        vec![("complete".to_owned(), text.clone())],
        "one stored reply, complete"
    );

    // Both restarted instances take sockets again: opened one after another (and kept open),
    // nginx spreads them until each instance counts one.
    let mut sockets = Vec::new();
    let mut counts = (0.0, 0.0);
    while sockets.len() < 8 {
        sockets.push(reconnect(&user, &topology, Instant::now() + Duration::from_secs(30)).await);
        counts = (topology.open_sockets(1).await, topology.open_sockets(2).await);
        if counts.0 >= 1.0 && counts.1 >= 1.0 {
            break;
        }
    }
    assert!(counts.0 >= 1.0 && counts.1 >= 1.0, "both instances hold sockets again: {counts:?}");
    drop(sockets);

    // A second message is answered through nginx, and the file is still there.
    let mut viewer = reconnect(&user, &topology, Instant::now() + Duration::from_secs(30)).await;
    viewer.send(&ask(Some(conversation_id.clone()), "Anyone there?")).await;
    viewer
        .until(Instant::now() + Duration::from_secs(30), |viewer| {
            viewer.run_started_after(0).is_some_and(|(run_id, _)| viewer.finished(&run_id).is_some())
        })
        .await
        .expect("a second message is answered through the balancer");
    let (second_run, _) = viewer.run_started_after(0).expect("a second run");
    assert!(
        matches!(viewer.finished(&second_run), Some(RunEvent::Finished { status: RunStatus::Completed, .. })),
        "{:?}",
        viewer.finished(&second_run)
    );
    assert!(!viewer.text(&second_run).is_empty(), "the second reply has text");
    drop(viewer);
    let served = user
        .http
        .get(format!("{}/api/files/{file_id}", topology.base_url()))
        .send()
        .await
        .expect("the balancer answers");
    assert_eq!(served.bytes().await.expect("its bytes").as_ref(), PNG, "the file after the restarts");

    // `down` stops every process `up` and `restart` started.
    let pids = topology.pids();
    assert_eq!(pids.len(), if expected_storage == "s3" { 4 } else { 3 }, "{pids:?}");
    let output = topology.down_now();
    assert!(output.status.success(), "scripts/topology down:\n{}", described(&output));
    let running: Vec<u32> = pids.into_iter().filter(|pid| alive(*pid)).collect();
    assert!(running.is_empty(), "still running after down: {running:?}");
    assert!(!dir.join("topology.env").exists(), "down removes topology.env");

    drop(topology);
    cluster.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The lines indented under the first line equal to `header` (after trimming), up to the next
/// line indented no deeper than it. Enough YAML for a file we write ourselves.
fn block<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut lines = text.lines().skip_while(|line| line.trim() != header);
    let Some(first) = lines.next() else { panic!("no `{header}` in compose.yaml") };
    let depth = indent(first);
    lines.take_while(|line| line.trim().is_empty() || indent(line) > depth).collect()
}

/// The keys of a block's first level (`NAME: value` or `name:`).
fn keys<'a>(lines: &[&'a str]) -> Vec<&'a str> {
    let depth =
        lines.iter().filter(|line| !line.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min();
    lines
        .iter()
        .filter(|line| Some(line.len() - line.trim_start().len()) == depth)
        .filter_map(|line| line.trim().split_once(':').map(|(key, _)| key))
        .filter(|key| !key.starts_with('#') && !key.starts_with('-'))
        .collect()
}

#[test]
fn compose_names_the_services_settings_and_template_that_the_readme_and_the_script_use() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let compose = std::fs::read_to_string(root.join("compose.yaml")).expect("compose.yaml");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let template =
        std::fs::read_to_string(root.join("ops/nginx/jarvis.conf.template")).expect("the nginx template");
    let script = std::fs::read_to_string(root.join("scripts/topology")).expect("scripts/topology");

    let services = keys(&block(&compose, "services:"));
    assert_eq!(services, ["postgres", "seaweedfs", "jarvis-1", "jarvis-2", "nginx"]);
    for jarvis in ["jarvis-1", "jarvis-2"] {
        assert!(
            block(&compose, &format!("{jarvis}:")).iter().any(|line| line.trim() == "<<: *jarvis"),
            "{jarvis}"
        );
    }

    // Every setting of the instances is one the README documents.
    let environment = keys(&block(&compose, "environment: &jarvis-environment"));
    let documented = |name: &str| {
        readme.lines().any(|line| line.starts_with('|') && line.contains(&format!("`{name}`")))
            || name.strip_prefix("STRIPE_PRICE_").is_some() && readme.contains("`STRIPE_PRICE_<PLAN>`")
    };
    let undocumented: Vec<&str> = environment.iter().copied().filter(|name| !documented(name)).collect();
    assert!(
        undocumented.is_empty(),
        "compose.yaml sets settings the README does not document: {undocumented:?}"
    );
    for required in [
        "DATABASE_URL",
        "DATABASE_APP_URL",
        "JARVIS_ADDR",
        "JARVIS_PUBLIC_URL",
        "JARVIS_JWT_SECRET",
        "JARVIS_TRUST_FORWARDED_FOR",
        "JARVIS_STORAGE",
        "JARVIS_S3_ENDPOINT",
        "JARVIS_S3_BUCKET",
        "JARVIS_S3_ACCESS_KEY_ID",
        "JARVIS_S3_SECRET_ACCESS_KEY",
    ] {
        assert!(environment.contains(&required), "the instances need {required}: {environment:?}");
    }
    assert!(compose.contains("JARVIS_ADDR: 0.0.0.0:3000"), "the image's server listens on 0.0.0.0:3000");
    assert!(compose.contains("JARVIS_STORAGE: s3"));
    assert!(compose.contains("image: jarvis:latest"));

    // nginx: the shared template, its two placeholders set, every instance an upstream it waits for.
    let placeholders: Vec<&str> = template
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    let mut distinct = placeholders.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct, ["JARVIS_NGINX_LISTEN", "JARVIS_UPSTREAMS"]);
    let nginx = block(&compose, "nginx:");
    for name in &distinct {
        assert!(nginx.iter().any(|line| line.trim().starts_with(&format!("{name}:"))), "nginx sets {name}");
        assert!(script.contains(&format!("'${{{name}}}'")), "scripts/topology fills in {name}");
    }
    assert!(
        nginx.iter().any(|line| line.contains("./ops/nginx/jarvis.conf.template:/etc/nginx/templates/")),
        "nginx uses the shared template"
    );
    let nginx = nginx.join("\n");
    for jarvis in ["jarvis-1", "jarvis-2"] {
        assert!(nginx.contains(&format!("server {jarvis}:3000")), "{jarvis} is an upstream");
        assert!(
            nginx.contains(&format!("{jarvis}:\n        condition: service_healthy")),
            "nginx waits for {jarvis}"
        );
    }

    // Postgres makes the two roles from the init script compose mounts.
    assert!(compose.contains("./ops/postgres/init.sql:/docker-entrypoint-initdb.d/"));
    let init = std::fs::read_to_string(root.join("ops/postgres/init.sql")).expect("ops/postgres/init.sql");
    assert!(init.contains("CREATE ROLE jarvis LOGIN") && init.contains("CREATE ROLE jarvis_app LOGIN"));
    assert!(init.contains("NOBYPASSRLS") && init.contains("CREATE DATABASE jarvis OWNER jarvis"));
}
