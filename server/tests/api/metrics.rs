//! `GET /metrics`: Prometheus text on its own address (never the public one), parsed by a
//! Prometheus text parser, with the counters moving after a chat.

use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use prometheus_parse::{Sample, Scrape, Value};

use crate::chat::{ask, open, send, until_finished};
use crate::helpers::{TestApp, spawn_app_with};

async fn scrape(app: &TestApp) -> Vec<Sample> {
    let address = app.metrics_address.as_ref().expect("metrics are on in the tests");
    let response = reqwest::get(format!("{address}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("Prometheus text format").samples
}

/// The sum of a metric's samples whose labels include `labels`.
fn total(samples: &[Sample], metric: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .filter(|sample| labels.iter().all(|(name, value)| sample.labels.get(name) == Some(*value)))
        .map(|sample| match &sample.value {
            Value::Counter(value) | Value::Gauge(value) | Value::Untyped(value) => *value,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |bucket| bucket.count),
            Value::Summary(_) => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_and_move_after_a_chat() {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text("Metrics are counted.").usage(42, 9));
    let app =
        spawn_app_with(&[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")])
            .await;

    // Never on the public address.
    let public = reqwest::get(format!("{}/metrics", app.address)).await.unwrap();
    assert_eq!(public.status(), 404);

    let before = scrape(&app).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Count this")).await;
    until_finished(&mut socket).await;
    let during = scrape(&app).await;
    drop(socket);

    for (metric, labels) in [
        ("jarvis_runs_started_total", &[][..]),
        ("jarvis_runs_finished_total", &[("outcome", "completed")][..]),
        ("jarvis_model_calls_total", &[("outcome", "ok")][..]),
        ("jarvis_model_call_duration_seconds_count", &[][..]),
        ("jarvis_model_time_to_first_token_seconds_count", &[][..]),
        ("jarvis_http_requests_total", &[("route", "/ws"), ("method", "GET")][..]),
    ] {
        let (was, is) = (total(&before, metric, labels), total(&during, metric, labels));
        assert!(is > was, "{metric} {labels:?} moved from {was} to {is}");
    }
    // Tokens: the reply's 9 output tokens at least (other tests in this process add theirs).
    let tokens = total(&during, "jarvis_tokens_total", &[("kind", "output")])
        - total(&before, "jarvis_tokens_total", &[("kind", "output")]);
    assert!(tokens >= 9.0, "{tokens}");
    assert!(total(&during, "jarvis_websockets_open", &[]) >= 1.0);
    assert!(total(&during, "jarvis_db_pool_max_connections", &[]) >= 1.0);
    assert!(during.iter().any(|sample| sample.metric == "jarvis_db_pool_connections"));
    assert_eq!(total(&during, "jarvis_build_info", &[("version", env!("CARGO_PKG_VERSION"))]), 1.0);
    // Pages are counted by their route pattern, never by a raw path.
    assert!(
        during
            .iter()
            .filter(|sample| sample.metric == "jarvis_http_requests_total")
            .all(|sample| sample.labels.get("route").is_some_and(|route| !route.contains("..")))
    );
    app.stop().await;
}

#[tokio::test]
async fn metrics_can_be_turned_off() {
    let app = spawn_app_with(&[("JARVIS_METRICS_ADDR", "off")]).await;
    assert!(app.metrics_address.is_none());
    app.stop().await;
}

/// Every `jarvis_*` name in `text`, histogram series (`_bucket`, `_sum`, `_count`) folded into
/// their metric.
fn metric_names(text: &str) -> std::collections::BTreeSet<String> {
    let mut names = std::collections::BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("jarvis_") {
        let tail = &rest[start..];
        let end = tail.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(tail.len());
        let name = &tail[..end];
        let name = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix).filter(|base| base.ends_with("_seconds")))
            .unwrap_or(name);
        names.insert(name.to_owned());
        rest = &tail[end..];
    }
    names
}

/// The metrics the code records: each `metrics::counter!/gauge!/histogram!("jarvis_…")` name in
/// the backend's and the server's sources.
fn recorded_metrics() -> std::collections::BTreeSet<String> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names = std::collections::BTreeSet::new();
    let mut folders = vec![root.join("backend/src"), root.join("server/src")];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read a source folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let source = std::fs::read_to_string(&path).expect("read a source file");
                for macro_call in ["counter!(", "gauge!(", "histogram!("] {
                    for (at, _) in source.match_indices(macro_call) {
                        let call = &source[at + macro_call.len()..];
                        let call = call.trim_start();
                        if let Some(literal) = call.strip_prefix('"')
                            && let Some(end) = literal.find('"')
                            && literal[..end].starts_with("jarvis_")
                        {
                            names.insert(literal[..end].to_owned());
                        }
                    }
                }
            }
        }
    }
    names
}

#[test]
fn the_dashboard_the_alerts_and_the_readme_name_only_metrics_the_code_records() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
    };
    let recorded = recorded_metrics();
    assert!(recorded.len() >= 15, "the metrics the code records: {recorded:?}");

    let dashboard: serde_json::Value =
        serde_json::from_str(&read("ops/grafana-dashboard.json")).expect("JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    let expressions: String = panels
        .iter()
        .flat_map(|panel| panel["targets"].as_array().cloned().unwrap_or_default())
        .map(|target| target["expr"].as_str().expect("each target has a PromQL expression").to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    for (file, text) in [
        ("ops/grafana-dashboard.json", expressions),
        ("ops/prometheus-alerts.yml", read("ops/prometheus-alerts.yml")),
    ] {
        let named = metric_names(&text);
        assert!(!named.is_empty(), "{file} uses metrics");
        let unknown: Vec<_> = named.difference(&recorded).collect();
        assert!(unknown.is_empty(), "{file} names metrics the code never records: {unknown:?}");
    }

    // The README's metrics table lists every metric, and only those.
    let readme = read("README.md");
    let section = readme.split("### Metrics").nth(1).expect("a Metrics section");
    let table: String = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .collect::<Vec<_>>()
        .join("\n");
    let documented = metric_names(&table);
    assert_eq!(documented, recorded, "the README's metrics table and the code differ");
}
