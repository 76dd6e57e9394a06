//! A real load balancer in front of two instances, as an operator deploys Jarvis: nginx (Debian's,
//! `JARVIS_TEST_NGINX`, else `/usr/sbin/nginx`) with WebSocket upgrades passed through and failed
//! upstreams skipped. A chat runs through it while the instance holding the socket restarts.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use jarvis_types::protocol::{ClientMessage, RunEvent, RunStatus};
use tokio::time::Instant;

use crate::chat::ask;
use crate::faults::{Viewer, assert_contiguous, counting_text, fake_model, shown_text};
use crate::instances::{Cluster, Endpoint, free_port};

/// nginx, in the foreground, with its files in a folder of its own.
pub struct Balancer {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl Endpoint for Balancer {
    fn base_url(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    fn port(&self) -> u16 {
        self.port
    }
}

impl Balancer {
    /// Starts nginx on `port`, balancing over `upstreams` (ports on 127.0.0.1) round robin; a
    /// refused connection or a 502/503 moves a request to the next instance.
    pub async fn start(dir: &Path, port: u16, upstreams: &[u16]) -> Self {
        let nginx = std::env::var("JARVIS_TEST_NGINX").unwrap_or_else(|_| "/usr/sbin/nginx".to_owned());
        assert!(Path::new(&nginx).exists(), "nginx is needed at {nginx} (./scripts/test installs Debian's)");
        let dir = dir.join("nginx");
        std::fs::create_dir_all(&dir).expect("create nginx's folder");
        let d = dir.display();
        let servers: String = upstreams
            .iter()
            .map(|port| format!("server 127.0.0.1:{port} max_fails=1 fail_timeout=2s;\n"))
            .collect();
        let config = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream jarvis {{
        {servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://jarvis;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 120s;
            proxy_next_upstream error timeout http_502 http_503;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"#
        );
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).expect("write nginx.conf");
        let child = Command::new(&nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        let balancer = Self { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(Instant::now() < deadline, "nginx did not listen within 10 s: {}", balancer.error_log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        balancer
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("----- nginx's error log -----\n{}", self.error_log());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_through_the_balancer_survives_a_restart_of_the_instance_holding_its_socket() {
    let text = counting_text(60);
    let fake = fake_model(&text, Duration::from_millis(50)).await;
    let cluster = Cluster::new().await;
    let dir = std::env::temp_dir().join(format!("jarvis-balancer-{}", cluster.database_name));
    let (port_a, port_b, port_balancer) = (free_port(), free_port(), free_port());
    let public_url = format!("http://localhost:{port_balancer}");
    let model = fake.base_url();
    let settings = [("JARVIS_PUBLIC_URL", public_url.as_str()), ("ANTHROPIC_BASE_URL", model.as_str())];
    let a = cluster.start_on("a", port_a, &settings).await;
    let b = cluster.start_on("b", port_b, &settings).await;
    let balancer = Balancer::start(&dir, port_balancer, &[port_a, port_b]).await;

    // Registration, the mailed link, log-in and the socket all go through the balancer.
    let user = cluster.sign_up(&balancer).await;
    let (socket, upgraded) = user.open_with_response(&balancer).await;
    let holder = upgraded
        .headers()
        .get("x-upstream")
        .and_then(|value| value.to_str().ok())
        .and_then(|addr| addr.rsplit(':').next()?.parse::<u16>().ok())
        .expect("nginx names the instance that took the socket");
    let mut viewer = Viewer { socket, messages: Vec::new(), last_sent: Instant::now() };
    viewer.send(&ask(None, "Count to sixty")).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    viewer
        .until(deadline, |viewer| {
            viewer.run_started_after(0).is_some_and(|(run_id, _)| viewer.text(&run_id).len() > 20)
        })
        .await
        .expect("the reply starts streaming through the balancer");
    let (run_id, _) = viewer.run_started_after(0).expect("a run");

    // The instance holding the socket is deployed over: it drains and exits; the socket closes.
    let (mut holding, other) = if holder == port_a { (a, b) } else { (b, a) };
    holding.terminate();
    let closed = viewer.until(deadline, |viewer| viewer.finished(&run_id).is_some()).await;
    let why = closed.expect_err("the draining instance closes the socket while the reply still streams");
    assert!(why.contains("closed") || why.contains("ended"), "{why}");
    let mut received = viewer.events(&run_id);
    // The browser reconnects through the balancer, which now reaches the other instance, and
    // resumes after the last event it saw.
    let after_seq = received.last().map_or(0, |(seq, _)| *seq);
    let mut again = Viewer::open(&user, &balancer).await;
    again.send(&ClientMessage::Resume { run_id: run_id.clone(), after_seq }).await;
    again
        .until(Instant::now() + Duration::from_secs(30), |viewer| viewer.finished(&run_id).is_some())
        .await
        .expect("the resumed run finishes through the balancer");
    received.extend(again.events(&run_id));
    let status = holding.wait_exit(Duration::from_secs(30)).await.expect("the drained instance exits");
    assert!(status.success(), "a drained instance exits 0: {status}");

    assert_contiguous(&received);
    let shown = shown_text(&received);
    assert_eq!(shown, text, "the whole reply, once, in order");
    assert!(matches!(received.last(), Some((_, RunEvent::Finished { status: RunStatus::Completed, .. }))));

    // The instance comes back on its port; the balancer sends new sockets to it again, and a new
    // message is answered whichever instance takes it.
    let name = if holder == port_a { "a-restarted" } else { "b-restarted" };
    let restarted = cluster.start_on(name, holder, &settings).await;
    let mut served_by = std::collections::HashSet::new();
    for _ in 0..4 {
        let (socket, upgraded) = user.open_with_response(&balancer).await;
        served_by
            .insert(upgraded.headers().get("x-upstream").and_then(|v| v.to_str().ok()).map(str::to_owned));
        drop(socket);
    }
    assert_eq!(served_by.len(), 2, "both instances take sockets again: {served_by:?}");
    let mut viewer = Viewer::open(&user, &balancer).await;
    let before = viewer.messages.len();
    viewer.send(&ask(None, "Anyone there?")).await;
    viewer
        .until(Instant::now() + Duration::from_secs(30), |viewer| {
            viewer.run_started_after(before).is_some_and(|(run_id, _)| viewer.finished(&run_id).is_some())
        })
        .await
        .expect("a new message is answered through the balancer");

    drop((restarted, other, balancer));
    cluster.finish().await;
    let _ = std::fs::remove_dir_all(&dir);
}
