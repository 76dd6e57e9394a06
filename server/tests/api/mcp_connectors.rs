//! MCP connectors: a small MCP server on the official Python SDK (tests/fixtures/mcp_connector.py)
//! added for a user, its tools offered to the model (as the fake model's requests show), called
//! in a run, their results and failures reaching the chat as tool results; tokens checked and
//! kept encrypted; private addresses refused unless allowed; a tool switched off, and another
//! user's runs, offered none of it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jarvis_backend::connections::{Connectors, TokenCipher};
use jarvis_backend::mcp::client::{ConnectorError, ConnectorTools};
use jarvis_backend::web::OutboundPolicy;
use jarvis_backend::web::outbound;
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use jarvis_types::connections::ConnectorView;
use jarvis_types::protocol::{ClientMessage, RunEvent, RunStatus, ServerMessage};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};
use uuid::Uuid;

use crate::chat::{Socket, ask, next, open, send, text_of, until_finished};
use crate::helpers::{Client, TestApp, spawn_app_with};

const ENCRYPTION_KEY: &str = "connector-test-key-connector-test-key-0123";
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mcp_connector.py");

type Events = Vec<(String, u64, RunEvent)>;

/// The fixture MCP server, stopped when dropped.
struct McpServer {
    child: Child,
    url: String,
}

impl McpServer {
    /// Starts the fixture on a free port (requiring `token` as a bearer token, if given).
    async fn start(token: Option<&str>) -> Self {
        let python = std::env::var("JARVIS_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let probe = Command::new(&python).args(["-c", "import mcp.server.mcpserver, uvicorn"]).output().await;
        match probe {
            Ok(output) if output.status.success() => {}
            _ => panic!(
                "the connector tests need the official MCP Python SDK: `{python}` cannot import `mcp` \
                 (install it with `{python} -m pip install mcp==2.3.0`, or point JARVIS_TEST_PYTHON at a \
                 Python that has it)"
            ),
        }
        let mut command = Command::new(&python);
        command.arg(FIXTURE).args(["--port", "0"]);
        if let Some(token) = token {
            command.args(["--token", token]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the fixture MCP server starts");
        let stdout = child.stdout.take().expect("its stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await;
        let url = match ready {
            Ok(Ok(Some(line))) if line.starts_with("ready ") => line["ready ".len()..].to_owned(),
            other => {
                let mut stderr = String::new();
                if let Some(mut pipe) = child.stderr.take() {
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), pipe.read_to_string(&mut stderr)).await;
                }
                panic!("the fixture MCP server did not say it was ready ({other:?}):\n{stderr}");
            }
        };
        // Its log is read (so that it never blocks on a full pipe) and dropped.
        if let Some(mut stderr) = child.stderr.take() {
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = stderr.read_to_end(&mut sink).await;
            });
        }
        Self { child, url }
    }

    async fn stop(&mut self) {
        let _ = self.child.kill().await;
    }
}

/// Answers a tool result the way the browser tests' fake does: "The connector said: …".
fn echo_results(body: &Value) -> Script {
    let result = body["messages"]
        .as_array()
        .and_then(|messages| messages.last())
        .and_then(|last| last["content"].as_array())
        .and_then(|blocks| blocks.iter().find(|block| block["type"] == "tool_result").cloned());
    let Some(result) = result else {
        return Script::Reply(Reply::text("Hello."));
    };
    let text = match &result["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts.iter().filter_map(|part| part["text"].as_str()).collect(),
        _ => String::new(),
    };
    let verb = if result["is_error"] == true { "failed" } else { "said" };
    Script::Reply(Reply::text(format!("The connector {verb}: {text}")))
}

async fn app_with_model(fake: &FakeAnthropic, allow_private: bool) -> TestApp {
    let base_url = fake.base_url();
    spawn_app_with(&[
        ("ANTHROPIC_BASE_URL", base_url.as_str()),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("JARVIS_ENCRYPTION_KEY", ENCRYPTION_KEY),
        ("JARVIS_MCP_ALLOW_PRIVATE", if allow_private { "true" } else { "false" }),
    ])
    .await
}

/// Connectors as the server sees them (same database, same key), under `policy`.
fn connector_tools(app: &TestApp, policy: OutboundPolicy) -> ConnectorTools {
    ConnectorTools::new(
        Connectors::new(app.app_pool.clone(), TokenCipher::derive(ENCRYPTION_KEY.as_bytes())),
        policy,
    )
}

const ALLOW_PRIVATE: OutboundPolicy = OutboundPolicy { allow_private: true };

/// A signed-in user with a socket open, and their id.
async fn user(app: &TestApp) -> (Client, Socket, Uuid) {
    let (client, email) = app.signed_in_client().await;
    let socket = open(app.port, &client).await;
    let id = app.user_id(&email).await;
    (client, socket, id)
}

async fn exchange(socket: &mut Socket, conversation: Option<&str>, text: &str) -> (String, Events) {
    send(socket, &ask(conversation.map(str::to_owned), text)).await;
    let events = until_finished(socket).await;
    let RunEvent::Started { conversation_id, .. } = &events[0].2 else { panic!("{events:?}") };
    (conversation_id.clone(), events)
}

fn status(events: &Events) -> RunStatus {
    match &events.last().expect("events").2 {
        RunEvent::Finished { status, .. } => *status,
        other => panic!("the run did not finish: {other:?}"),
    }
}

/// The run's tool results: (tool name, output, is_error).
fn tool_results(events: &Events) -> Vec<(String, String, bool)> {
    events
        .iter()
        .filter_map(|(_, _, event)| match event {
            RunEvent::ToolResult { name, output, is_error, .. } => {
                Some((name.clone(), output.clone(), *is_error))
            }
            _ => None,
        })
        .collect()
}

/// The names of the tools offered in a request to the model.
fn offered(body: &Value) -> Vec<String> {
    body["tools"]
        .as_array()
        .map(|tools| tools.iter().filter_map(|tool| tool["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn tool_names(view: &ConnectorView) -> Vec<&str> {
    let mut names: Vec<&str> = view.tools.iter().map(|tool| tool.name.as_str()).collect();
    names.sort_unstable();
    names
}

/// How many stored messages hold `text` anywhere in their content.
async fn messages_containing(app: &TestApp, text: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM messages WHERE strpos(content::text, $1) > 0")
        .bind(text)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap()
}

fn every_request_was_valid(fake: &FakeAnthropic) {
    for (index, request) in fake.requests().iter().enumerate() {
        if let Err(error) = jarvis_testkit::fake_anthropic::validate_request(&request.body) {
            panic!("request {index} would be refused: {error}\n{:#}", request.body);
        }
    }
}

#[tokio::test]
async fn a_connector_tool_is_offered_called_and_its_result_or_failure_reaches_the_chat() {
    let mut server = McpServer::start(None).await;
    let fake = FakeAnthropic::start().await;
    fake.set_fallback(Arc::new(echo_results));
    let app = app_with_model(&fake, true).await;
    let (_client, mut socket, user) = user(&app).await;

    let added =
        connector_tools(&app, ALLOW_PRIVATE).add(user, &format!("  {}  ", server.url), None).await.unwrap();
    assert_eq!(added.name, "notes_server", "named after what the server calls itself");
    assert_eq!(added.url, server.url);
    assert!(!added.has_token && added.enabled);
    assert_eq!(tool_names(&added), ["add_note", "always_fails", "slow_note"]);

    // Offered, with the server's schema, and called.
    fake.reply(Reply::tool_use("toolu_1", "notes_server__add_note", json!({"text": "buy milk"})));
    let (conversation, events) = exchange(&mut socket, None, "Note that I need milk").await;
    let request = &fake.requests()[0].body;
    let tool = request["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|tool| tool["name"] == "notes_server__add_note")
        .unwrap_or_else(|| panic!("the connector's tool is offered: {:?}", offered(request)));
    assert_eq!(tool["input_schema"]["type"], "object");
    assert_eq!(tool["input_schema"]["properties"]["text"]["type"], "string");
    assert_eq!(tool["input_schema"]["required"], json!(["text"]));
    assert!(
        tool["description"].as_str().unwrap().starts_with("From the MCP server notes_server: "),
        "{tool}"
    );
    assert!(offered(request).contains(&"get_current_time".to_owned()), "Jarvis's own tools stay");
    assert_eq!(status(&events), RunStatus::Completed);
    assert_eq!(
        tool_results(&events),
        [("notes_server__add_note".to_owned(), "Noted: buy milk".to_owned(), false)]
    );
    assert_eq!(text_of(&events), "The connector said: Noted: buy milk");
    assert_eq!(
        messages_containing(&app, "Noted: buy milk").await,
        2,
        "the tool result and the reply are stored"
    );

    // The server's own error is the tool's error, in its words.
    fake.reply(Reply::tool_use("toolu_2", "notes_server__always_fails", json!({})));
    let (_, events) = exchange(&mut socket, Some(&conversation), "Try the failing one").await;
    let results = tool_results(&events);
    assert_eq!(results.len(), 1, "{events:?}");
    assert!(results[0].2, "an isError result is a tool error");
    assert!(results[0].1.contains("The notes database is on fire."), "{results:?}");
    assert_eq!(status(&events), RunStatus::Completed);

    // Stopping the run while a call is in progress ends it at once.
    fake.reply(Reply::tool_use("toolu_3", "notes_server__slow_note", json!({"seconds": 30})));
    send(&mut socket, &ask(Some(conversation.clone()), "Take your time")).await;
    let run_id = loop {
        if let ServerMessage::Run { run_id, event: RunEvent::ToolCall { .. }, .. } = next(&mut socket).await {
            break run_id;
        }
    };
    send(&mut socket, &ClientMessage::Cancel { run_id }).await;
    let events = until_finished(&mut socket).await;
    assert_eq!(status(&events), RunStatus::Cancelled, "{events:?}");

    // A server that went away is a tool error, and the run still finishes.
    server.stop().await;
    fake.reply(Reply::tool_use("toolu_4", "notes_server__add_note", json!({"text": "eggs"})));
    let (_, events) = exchange(&mut socket, Some(&conversation), "Note eggs too").await;
    assert_eq!(
        tool_results(&events),
        [(
            "notes_server__add_note".to_owned(),
            "The MCP server notes_server could not be reached: connection refused.".to_owned(),
            true
        )]
    );
    assert_eq!(
        text_of(&events),
        "The connector failed: The MCP server notes_server could not be reached: connection refused."
    );
    assert_eq!(status(&events), RunStatus::Completed);
    every_request_was_valid(&fake);
    app.stop().await;
}

#[tokio::test]
async fn a_token_protected_server_needs_the_right_token_which_is_kept_encrypted() {
    let token = "notes-secret-7f3a9c";
    let server = McpServer::start(Some(token)).await;
    let fake = FakeAnthropic::start().await;
    fake.set_fallback(Arc::new(echo_results));
    let app = app_with_model(&fake, true).await;
    let (_client, mut socket, user) = user(&app).await;
    let tools = connector_tools(&app, ALLOW_PRIVATE);

    let refused = format!("{} answered 401 Unauthorized: check the token.", server.url);
    for wrong in [None, Some("wrong-token")] {
        let error = tools.add(user, &server.url, wrong).await.unwrap_err();
        assert!(matches!(error, ConnectorError::Unreachable(_)), "{error:?}");
        assert_eq!(error.to_string(), refused);
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mcp_connectors").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(count, 0, "nothing is stored when the server cannot be used");

    let added = tools.add(user, &server.url, Some(&format!("Bearer {token}"))).await.unwrap();
    assert!(added.has_token);
    assert_eq!(tool_names(&added), ["add_note", "always_fails", "slow_note"]);
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_ciphertext FROM mcp_connectors")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(
        !stored.windows(token.len()).any(|window| window == token.as_bytes()),
        "the token is stored encrypted"
    );
    let dumped: String = sqlx::query_scalar("SELECT row_to_json(c)::text FROM mcp_connectors c")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(!dumped.contains(token), "{dumped}");

    // The server's runs send the decrypted token.
    fake.reply(Reply::tool_use("toolu_1", "notes_server__add_note", json!({"text": "call mum"})));
    let (_, events) = exchange(&mut socket, None, "Note: call mum").await;
    assert_eq!(
        tool_results(&events),
        [("notes_server__add_note".to_owned(), "Noted: call mum".to_owned(), false)]
    );

    // Refreshing works with the stored token too.
    let id: Uuid = added.id.parse().unwrap();
    assert_eq!(
        tool_names(&tools.refresh(user, id).await.unwrap()),
        ["add_note", "always_fails", "slow_note"]
    );
    app.stop().await;
}

/// What the outbound policy (private addresses refused) says about `url`.
fn refusal(url: &str) -> String {
    let url = url::Url::parse(url).unwrap();
    outbound::check_url(OutboundPolicy::default(), &url).expect_err("refused").to_string()
}

#[tokio::test]
async fn private_addresses_are_refused_unless_allowed_and_failures_are_told_in_sentences() {
    let server = McpServer::start(None).await;
    let fake = FakeAnthropic::start().await;
    let app = app_with_model(&fake, false).await;
    let (_client, _socket, user) = user(&app).await;

    let strict = connector_tools(&app, OutboundPolicy::default());
    let error = strict.add(user, &server.url, None).await.unwrap_err();
    assert!(matches!(error, ConnectorError::Refused(_)), "{error:?}");
    assert_eq!(error.to_string(), refusal(&server.url), "the outbound policy's own sentence");
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
    let localhost = server.url.replace("127.0.0.1", "localhost");
    assert!(matches!(strict.add(user, &localhost, None).await, Err(ConnectorError::Refused(_))));
    let error = strict.add(user, "ftp://example.com/mcp", None).await.unwrap_err();
    assert_eq!(error.to_string(), refusal("ftp://example.com/mcp"));
    let error = strict.add(user, "not a url", None).await.unwrap_err();
    assert_eq!(error.to_string(), "That is not a URL; it looks like https://example.com/mcp.");

    let relaxed = connector_tools(&app, ALLOW_PRIVATE);
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let error =
        relaxed.add(user, &format!("http://127.0.0.1:{closed}/mcp?key=hidden"), None).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("Jarvis could not reach http://127.0.0.1:{closed}/mcp: connection refused.")
    );
    // The fake model's API answers, but not as an MCP server does.
    let not_mcp = format!("{}/mcp", fake.base_url());
    let error = relaxed.add(user, &not_mcp, None).await.unwrap_err();
    assert_eq!(error.to_string(), format!("{not_mcp} does not speak MCP (it answered 404 Not Found)."));

    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM mcp_connectors").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(count, 0, "nothing refused is stored");
    app.stop().await;
}

#[tokio::test]
async fn tools_switched_off_and_other_users_runs_are_offered_none_of_it() {
    let server = McpServer::start(None).await;
    let fake = FakeAnthropic::start().await;
    let app = app_with_model(&fake, true).await;
    let (_owner_client, mut owner, owner_id) = user(&app).await;
    let (_other_client, mut other, _) = user(&app).await;
    let tools = connector_tools(&app, ALLOW_PRIVATE);
    let added = tools.add(owner_id, &server.url, None).await.unwrap();
    let id: Uuid = added.id.parse().unwrap();
    let seen = Arc::new(Mutex::new(Vec::<Vec<String>>::new()));
    let record = Arc::clone(&seen);
    fake.set_fallback(Arc::new(move |body: &Value| {
        record.lock().unwrap().push(offered(body));
        Script::Reply(Reply::text("Fine."))
    }));
    let last_offered = || seen.lock().unwrap().last().cloned().unwrap_or_default();

    exchange(&mut owner, None, "What can you do?").await;
    let all = last_offered();
    for name in ["notes_server__add_note", "notes_server__always_fails", "notes_server__slow_note"] {
        assert!(all.contains(&name.to_owned()), "{all:?}");
    }

    tools.connectors().set_tool_enabled(owner_id, id, "add_note", false).await.unwrap();
    exchange(&mut owner, None, "And now?").await;
    let fewer = last_offered();
    assert!(!fewer.contains(&"notes_server__add_note".to_owned()), "{fewer:?}");
    assert!(fewer.contains(&"notes_server__always_fails".to_owned()), "{fewer:?}");

    exchange(&mut other, None, "What can you do?").await;
    let others = last_offered();
    assert!(!others.is_empty() && others.iter().all(|name| !name.contains("__")), "{others:?}");

    tools.connectors().set_enabled(owner_id, id, false).await.unwrap();
    exchange(&mut owner, None, "And with it off?").await;
    assert!(last_offered().iter().all(|name| !name.contains("__")), "{:?}", last_offered());
    assert_eq!(seen.lock().unwrap().len(), 4);
    app.stop().await;
}
