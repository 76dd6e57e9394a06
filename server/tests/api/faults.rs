//! Faults, with real server processes: an instance killed or deployed over in the middle of a
//! reply, a Stop sent to another instance while the owner drains, the database going away (or
//! its acknowledgements getting lost) mid-reply. What the user saw is kept, nothing stays
//! "running", and no event is lost or shown twice.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use jarvis_testkit::tcp_proxy::TcpProxy;
use jarvis_types::protocol::{ClientMessage, ErrorCode, RunEvent, RunStatus, ServerMessage};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::chat::{Socket, ask, send};
use crate::instances::{Cluster, Endpoint, Instance, User};

/// What the model answers to any message after the scripted slow reply.
const FOLLOW_UP: &str = "Still here.";

/// `count` numbered words, "w1 w2 …": a prefix of it is easy to recognise.
pub(crate) fn counting_text(count: usize) -> String {
    (1..=count).map(|n| format!("w{n}")).collect::<Vec<_>>().join(" ")
}

/// A fake model whose first reply is `text`, one word every `per_word`, then [`FOLLOW_UP`] to
/// anything else.
pub(crate) async fn fake_model(text: &str, per_word: Duration) -> FakeAnthropic {
    let fake = FakeAnthropic::start().await;
    fake.reply(Reply::text(text).slowly(per_word).usage(1234, 200));
    fake.set_fallback(Arc::new(|_| Script::Reply(Reply::text(FOLLOW_UP))));
    fake
}

/// What [`Viewer::until`] says when the deadline passed.
const TIMED_OUT: &str = "timed out";

/// A socket and every server message it received, in order.
pub(crate) struct Viewer {
    pub(crate) socket: Socket,
    pub(crate) messages: Vec<ServerMessage>,
    /// The last time we sent anything (the server closes sockets idle for a minute).
    pub(crate) last_sent: Instant,
}

impl Viewer {
    pub(crate) async fn open(user: &User, instance: &impl Endpoint) -> Self {
        Self { socket: user.open(instance).await, messages: Vec::new(), last_sent: Instant::now() }
    }

    pub(crate) async fn send(&mut self, message: &ClientMessage) {
        send(&mut self.socket, message).await;
        self.last_sent = Instant::now();
    }

    /// Receives until `done` holds for what was received; fails at `deadline` or when the socket
    /// closes, saying which. Pings after 15 s of silence on our side, as the browser's heartbeat
    /// does.
    pub(crate) async fn until(
        &mut self,
        deadline: Instant,
        done: impl Fn(&Self) -> bool,
    ) -> Result<(), String> {
        while !done(self) {
            let ping_at = self.last_sent + Duration::from_secs(15);
            let frame = tokio::select! {
                frame = tokio::time::timeout_at(deadline, self.socket.next()) => Some(frame),
                () = tokio::time::sleep_until(ping_at) => None,
            };
            let Some(frame) = frame else {
                self.send(&ClientMessage::Ping { nonce: 1 }).await;
                continue;
            };
            match frame {
                Err(_) => return Err(TIMED_OUT.to_owned()),
                Ok(None) => return Err("the socket's stream ended".to_owned()),
                Ok(Some(Err(error))) => return Err(format!("the socket failed: {error}")),
                Ok(Some(Ok(Message::Text(text)))) => {
                    let message: ServerMessage =
                        serde_json::from_str(text.as_str()).expect("a protocol message");
                    if !matches!(message, ServerMessage::Pong { .. }) {
                        self.messages.push(message);
                    }
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return Err(format!("the server closed the socket: {frame:?}"));
                }
                Ok(Some(Ok(_))) => {}
            }
        }
        Ok(())
    }

    /// The events of `run_id` received so far, with their sequence numbers.
    pub(crate) fn events(&self, run_id: &str) -> Vec<(u64, RunEvent)> {
        self.messages
            .iter()
            .filter_map(|message| match message {
                ServerMessage::Run { run_id: id, seq, event } if id == run_id => Some((*seq, event.clone())),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn text(&self, run_id: &str) -> String {
        shown_text(&self.events(run_id))
    }

    pub(crate) fn finished(&self, run_id: &str) -> Option<RunEvent> {
        self.events(run_id)
            .into_iter()
            .map(|(_, event)| event)
            .find(|event| matches!(event, RunEvent::Finished { .. }))
    }

    /// The first run started after `before` messages had been received.
    pub(crate) fn run_started_after(&self, before: usize) -> Option<(String, String)> {
        self.messages[before..].iter().find_map(|message| match message {
            ServerMessage::Run { run_id, event: RunEvent::Started { conversation_id, .. }, .. } => {
                Some((run_id.clone(), conversation_id.clone()))
            }
            _ => None,
        })
    }

    fn errors_after(&self, before: usize) -> Vec<ServerMessage> {
        self.messages[before..]
            .iter()
            .filter(|message| {
                matches!(message, ServerMessage::Error { .. } | ServerMessage::LimitReached { .. })
            })
            .cloned()
            .collect()
    }
}

/// The user sends `question` through their socket on `owner`; a second socket of theirs on
/// `elsewhere` resumes the run from the start, and some text of the reply reaches it.
/// Returns (the asking socket, the viewer elsewhere, run id, conversation id).
async fn ask_and_follow_elsewhere(
    user: &User,
    owner: &Instance,
    elsewhere: &Instance,
    question: &str,
) -> (Viewer, Viewer, String, String) {
    let mut asker = Viewer::open(user, owner).await;
    asker.send(&ask(None, question)).await;
    asker
        .until(Instant::now() + Duration::from_secs(20), |v| {
            v.run_started_after(0).is_some() || !v.errors_after(0).is_empty()
        })
        .await
        .expect("the run starts on the owner");
    let (run_id, conversation_id) =
        asker.run_started_after(0).unwrap_or_else(|| panic!("no run: {:?}", asker.messages));

    let mut viewer = Viewer::open(user, elsewhere).await;
    viewer.send(&ClientMessage::Resume { run_id: run_id.clone(), after_seq: 0 }).await;
    let run = run_id.clone();
    viewer
        .until(Instant::now() + Duration::from_secs(20), move |v| v.text(&run).split(' ').count() >= 5)
        .await
        .unwrap_or_else(|stalled| panic!("no text of the reply reached {}: {stalled}", elsewhere.name));
    (asker, viewer, run_id, conversation_id)
}

/// What the database holds about a run, for failure messages.
async fn describe(cluster: &Cluster, run_id: &str) -> String {
    let run: Option<(String, Option<String>, Option<String>, i64)> =
        sqlx::query_as("SELECT status, outcome, error_code, input_tokens FROM runs WHERE id = $1::uuid")
            .bind(run_id)
            .fetch_optional(&cluster.owner_pool)
            .await
            .unwrap_or_default();
    // A row holds one event, or a batch up to `last_seq` where that column exists.
    let events: (i64, Option<i64>) = sqlx::query_as(
        "SELECT count(*), max(coalesce((to_jsonb(e) ->> 'last_seq')::bigint, e.seq)) \
             FROM run_events e WHERE run_id = $1::uuid",
    )
    .bind(run_id)
    .fetch_one(&cluster.owner_pool)
    .await
    .unwrap_or_default();
    let messages: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT m.role, m.status, length(m.content::text)::bigint FROM messages m \
         JOIN runs r ON r.conversation_id = m.conversation_id WHERE r.id = $1::uuid ORDER BY m.position",
    )
    .bind(run_id)
    .fetch_all(&cluster.owner_pool)
    .await
    .unwrap_or_default();
    let usage: Option<(i64, i64)> =
        sqlx::query_as("SELECT input_tokens, output_tokens FROM usage_records WHERE run_id = $1::uuid")
            .bind(run_id)
            .fetch_optional(&cluster.owner_pool)
            .await
            .unwrap_or_default();
    format!(
        "in the database: run (status, outcome, error_code, input_tokens) = {run:?}; run_events (rows, last seq) = {events:?}; \
         messages (role, status, content length) = {messages:?}; usage_records (input, output) = {usage:?}"
    )
}

/// The text a viewer was shown: the text deltas of `events`, joined.
pub(crate) fn shown_text(events: &[(u64, RunEvent)]) -> String {
    events
        .iter()
        .filter_map(|(_, event)| match event {
            RunEvent::TextDelta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn assert_contiguous(events: &[(u64, RunEvent)]) {
    let seqs: Vec<u64> = events.iter().map(|(seq, _)| *seq).collect();
    let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, expected, "every event exactly once, in order, from 1, without gaps");
}

/// The text of the stored assistant messages of a conversation, with their status.
pub(crate) async fn stored_replies(cluster: &Cluster, conversation_id: &str) -> Vec<(String, String)> {
    let rows: Vec<(String, serde_json::Value)> = sqlx::query_as(
        "SELECT status, content FROM messages WHERE conversation_id = $1::uuid AND role = 'assistant' ORDER BY position",
    )
    .bind(conversation_id)
    .fetch_all(&cluster.owner_pool)
    .await
    .expect("read the messages");
    rows.into_iter()
        .map(|(status, content)| {
            let text: String = content
                .as_array()
                .into_iter()
                .flatten()
                .filter(|block| block["type"] == "text")
                .filter_map(|block| block["text"].as_str())
                .collect();
            (status, text)
        })
        .collect()
}

/// Asserts that the run ended `Failed` with a retryable `interrupted` error.
fn assert_interrupted(finished: &RunEvent, context: &str) {
    let RunEvent::Finished { status, error, .. } = finished else { unreachable!() };
    assert_eq!(*status, RunStatus::Failed, "{finished:?}\n{context}");
    let error = error.as_ref().unwrap_or_else(|| panic!("a failed run says why: {finished:?}\n{context}"));
    assert_eq!(error.code, "interrupted", "{finished:?}\n{context}");
    assert!(error.retryable, "sending the message again may succeed: {finished:?}\n{context}");
}

/// Asserts that what `seen` showed is a prefix of `script` and is what is kept, marked partial,
/// and that the run is no longer running.
async fn assert_partial_kept(
    cluster: &Cluster,
    conversation_id: &str,
    run_id: &str,
    seen: &str,
    script: &str,
    run_status: &str,
) {
    let context = describe(cluster, run_id).await;
    assert!(!seen.is_empty(), "the viewer saw some text\n{context}");
    assert!(script.starts_with(seen), "what was shown is a prefix of the reply: {seen:?}\n{context}");
    let replies = stored_replies(cluster, conversation_id).await;
    let [(status, text)] = replies.as_slice() else {
        panic!("one stored reply expected, found {replies:?}\n{context}")
    };
    assert_eq!(status, "partial", "the cut reply is kept marked partial\n{context}");
    assert!(text.starts_with(seen), "what the viewer saw is kept: stored {text:?}, seen {seen:?}\n{context}");
    assert!(script.starts_with(text.as_str()), "the kept text is the reply's: {text:?}\n{context}");
    let status: String = sqlx::query_scalar("SELECT status FROM runs WHERE id = $1::uuid")
        .bind(run_id)
        .fetch_one(&cluster.owner_pool)
        .await
        .expect("the run's row");
    assert_eq!(status, run_status, "nothing stays running\n{context}");
}

/// Waits for the viewer to see `run_id` finish by `deadline`; otherwise says what the viewer
/// and the database hold.
async fn wait_finished(
    viewer: &mut Viewer,
    cluster: &Cluster,
    run_id: &str,
    deadline: Instant,
    what: &str,
) -> Result<RunEvent, String> {
    let run = run_id.to_owned();
    let waited = viewer.until(deadline, move |v| v.finished(&run).is_some()).await;
    match (waited, viewer.finished(run_id)) {
        (_, Some(finished)) => Ok(finished),
        (Err(stalled), None) => Err(format!(
            "{what}: no `finished` event ({stalled}); the viewer saw {} events, {} characters of text, and {:?}\n{}",
            viewer.events(run_id).len(),
            viewer.text(run_id).len(),
            viewer.messages.iter().filter(|m| !matches!(m, ServerMessage::Run { .. })).collect::<Vec<_>>(),
            describe(cluster, run_id).await
        )),
        (Ok(()), None) => unreachable!(),
    }
}

/// [`wait_finished`], or the test fails.
async fn finished_by(
    viewer: &mut Viewer,
    cluster: &Cluster,
    run_id: &str,
    deadline: Instant,
    what: &str,
) -> RunEvent {
    wait_finished(viewer, cluster, run_id, deadline, what).await.unwrap_or_else(|why| panic!("{why}"))
}

/// After the run ended, a new message in the same conversation, through the viewer, starts a
/// run (none is left "in progress") that completes.
async fn a_new_message_is_answered(
    viewer: &mut Viewer,
    cluster: &Cluster,
    conversation_id: &str,
    old_run: &str,
) {
    let before = viewer.messages.len();
    viewer.send(&ask(Some(conversation_id.to_owned()), "Are you still there?")).await;
    let old = old_run.to_owned();
    let waited = viewer
        .until(Instant::now() + Duration::from_secs(20), move |v| {
            !v.errors_after(before).is_empty()
                || v.run_started_after(before)
                    .is_some_and(|(run, _)| run != old && v.finished(&run).is_some())
        })
        .await;
    let errors = viewer.errors_after(before);
    assert!(
        errors.is_empty(),
        "the new message must start a run, not: {errors:?}{}\n{}",
        if errors.iter().any(|e| matches!(e, ServerMessage::Error { code: ErrorCode::RunInProgress, .. })) {
            " (the interrupted run still counts as in progress)"
        } else {
            ""
        },
        describe(cluster, old_run).await
    );
    waited.unwrap_or_else(|stalled| panic!("the new message's run did not finish: {stalled}"));
    let (run, _) = viewer.run_started_after(before).expect("a new run");
    let finished = viewer.finished(&run).expect("finished");
    assert!(
        matches!(finished, RunEvent::Finished { status: RunStatus::Completed, .. }),
        "the new run completes: {finished:?}"
    );
    assert_eq!(viewer.text(&run), FOLLOW_UP);
}

fn model(fake: &FakeAnthropic) -> Vec<(&'static str, String)> {
    vec![("ANTHROPIC_BASE_URL", fake.base_url())]
}

fn settings<'a>(pairs: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    pairs.iter().map(|(key, value)| (*key, value.as_str())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_instance_running_a_reply_ends_it_for_every_viewer_within_twenty_seconds() {
    let script = counting_text(200);
    let fake = fake_model(&script, Duration::from_millis(50)).await;
    let cluster = Cluster::new().await;
    let env = model(&fake);
    let mut a = cluster.start("a", &settings(&env)).await;
    let b = cluster.start("b", &settings(&env)).await;
    let user = cluster.sign_up(&a).await;
    let (_asker, mut viewer, run_id, conversation_id) =
        ask_and_follow_elsewhere(&user, &a, &b, "Count to two hundred").await;

    a.kill_9();
    let killed_at = Instant::now();
    let finished = finished_by(
        &mut viewer,
        &cluster,
        &run_id,
        killed_at + Duration::from_secs(20),
        "within 20 s of kill -9",
    )
    .await;
    eprintln!("finished {:?} after the kill: {finished:?}", killed_at.elapsed());

    let context = describe(&cluster, &run_id).await;
    assert_interrupted(&finished, &context);
    let events = viewer.events(&run_id);
    assert_contiguous(&events);
    let seen = viewer.text(&run_id);
    assert_partial_kept(&cluster, &conversation_id, &run_id, &seen, &script, "failed").await;
    a_new_message_is_answered(&mut viewer, &cluster, &conversation_id, &run_id).await;
    let input_tokens: Option<i64> =
        sqlx::query_scalar("SELECT input_tokens FROM usage_records WHERE run_id = $1::uuid")
            .bind(&run_id)
            .fetch_optional(&cluster.owner_pool)
            .await
            .expect("read usage");
    assert!(
        input_tokens.is_some_and(|tokens| tokens > 0),
        "the killed run's input tokens are metered: {input_tokens:?}\n{context}"
    );

    drop((a, b));
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deploy_during_a_reply_longer_than_the_grace_period_ends_it_cleanly() {
    const GRACE_SECS: u64 = 2;
    // 20 s of reply.
    let script = counting_text(200);
    let fake = fake_model(&script, Duration::from_millis(100)).await;
    let cluster = Cluster::new().await;
    let mut env_a = model(&fake);
    env_a.push(("JARVIS_SHUTDOWN_GRACE_SECS", GRACE_SECS.to_string()));
    let mut a = cluster.start("a", &settings(&env_a)).await;
    let b = cluster.start("b", &settings(&model(&fake))).await;
    let user = cluster.sign_up(&a).await;
    let (_asker, mut viewer, run_id, conversation_id) =
        ask_and_follow_elsewhere(&user, &a, &b, "Count to two hundred, slowly").await;

    a.terminate();
    let terminated_at = Instant::now();
    // The owner ends its runs itself when the grace period is over: no lease has to expire.
    let finished = wait_finished(
        &mut viewer,
        &cluster,
        &run_id,
        terminated_at + Duration::from_secs(GRACE_SECS + 4),
        "within the grace period + 4 s of SIGTERM",
    )
    .await;
    eprintln!("after SIGTERM, {:?}: {finished:?}", terminated_at.elapsed());
    let exit = a
        .wait_exit(
            (terminated_at + Duration::from_secs(GRACE_SECS + 10)).saturating_duration_since(Instant::now()),
        )
        .await;
    eprintln!("A's exit status {:?} after SIGTERM: {exit:?}", terminated_at.elapsed());

    let finished = finished.unwrap_or_else(|why| panic!("{why}\nA's exit status: {exit:?}"));
    let context = describe(&cluster, &run_id).await;
    assert_interrupted(&finished, &context);
    let status = exit.unwrap_or_else(|| panic!("A still runs {} s after SIGTERM", GRACE_SECS + 10));
    assert!(status.success(), "A exits 0 after SIGTERM: {status}");
    assert_contiguous(&viewer.events(&run_id));
    let seen = viewer.text(&run_id);
    assert!(seen.len() < script.len(), "the reply was cut");
    assert_partial_kept(&cluster, &conversation_id, &run_id, &seen, &script, "failed").await;

    drop((a, b));
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_works_from_another_instance_while_the_owner_drains() {
    // 20 s of reply, within A's 30 s grace: only Stop can end it early.
    let script = counting_text(200);
    let fake = fake_model(&script, Duration::from_millis(100)).await;
    let cluster = Cluster::new().await;
    let mut env_a = model(&fake);
    env_a.push(("JARVIS_SHUTDOWN_GRACE_SECS", "30".to_owned()));
    let mut a = cluster.start("a", &settings(&env_a)).await;
    let b = cluster.start("b", &settings(&model(&fake))).await;
    let user = cluster.sign_up(&a).await;
    let (_asker, mut viewer, run_id, conversation_id) =
        ask_and_follow_elsewhere(&user, &a, &b, "Count to two hundred, slowly").await;

    a.terminate();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(a.wait_exit(Duration::ZERO).await.is_none(), "A drains its run rather than exiting at once");
    viewer.send(&ClientMessage::Cancel { run_id: run_id.clone() }).await;
    let cancelled_at = Instant::now();
    let finished = wait_finished(
        &mut viewer,
        &cluster,
        &run_id,
        cancelled_at + Duration::from_secs(5),
        "within 5 s of Stop",
    )
    .await;
    eprintln!("after Stop, {:?}: {finished:?}", cancelled_at.elapsed());
    let finished = match finished {
        Ok(finished) => finished,
        Err(why) => {
            let exit = a.wait_exit(Duration::from_secs(10)).await;
            panic!("{why}\nA's exit status 15 s after the Stop: {exit:?}");
        }
    };

    let context = describe(&cluster, &run_id).await;
    assert!(
        matches!(finished, RunEvent::Finished { status: RunStatus::Cancelled, .. }),
        "Stop through B ends the run: {finished:?}\n{context}"
    );
    assert_contiguous(&viewer.events(&run_id));
    let seen = viewer.text(&run_id);
    assert_partial_kept(&cluster, &conversation_id, &run_id, &seen, &script, "cancelled").await;
    let exit = a.wait_exit(Duration::from_secs(10)).await;
    let status =
        exit.unwrap_or_else(|| panic!("A, with nothing left to drain, still runs 10 s after the Stop"));
    assert!(status.success(), "A exits 0: {status}");

    drop((a, b));
    cluster.finish().await;
}

/// Goes on receiving for `length`: the socket must stay open.
async fn keep_watching(viewer: &mut Viewer, length: Duration) {
    match viewer.until(Instant::now() + length, |_| false).await {
        Err(why) if why == TIMED_OUT => {}
        other => panic!("the viewer's socket must stay open: {other:?}"),
    }
}

/// How the database misbehaves in the middle of a reply.
#[derive(Debug, Clone, Copy)]
enum DatabaseFault {
    /// Every connection cut, and none possible, for this long.
    Outage(Duration),
    /// Statements reach the database, their answers are lost for this long; then the line is cut.
    LostAcknowledgements(Duration),
}

/// One instance whose application role reaches Postgres through a proxy; the fault strikes
/// once the reply is streaming; the live viewer must see every event once and the whole reply,
/// a later resume the same events, and the database the whole reply.
async fn reply_survives(fault: DatabaseFault) {
    let fault_length = match fault {
        DatabaseFault::Outage(length) | DatabaseFault::LostAcknowledgements(length) => length,
    };
    let per_word = Duration::from_millis(50);
    // The reply outlasts the fault by about 8 s, so that it streams before, during and after.
    let words = ((fault_length + Duration::from_secs(8)).as_millis() / per_word.as_millis()) as usize;
    let script = counting_text(words);
    let fake = fake_model(&script, per_word).await;
    let proxy = TcpProxy::start(Cluster::postgres_addr().await).await;
    let cluster = Cluster::new().await;
    let mut env = model(&fake);
    env.push(("DATABASE_APP_URL", cluster.app_url_through(proxy.addr())));
    let a = cluster.start("a", &settings(&env)).await;
    let user = cluster.sign_up(&a).await;

    let mut live = Viewer::open(&user, &a).await;
    live.send(&ask(None, "Count, whatever happens")).await;
    live.until(Instant::now() + Duration::from_secs(20), |v| {
        v.run_started_after(0).is_some_and(|(run, _)| !v.text(&run).is_empty())
    })
    .await
    .unwrap_or_else(|stalled| panic!("the reply starts streaming: {stalled} {:?}", live.messages));
    let (run_id, conversation_id) = live.run_started_after(0).expect("a run");

    let before_fault = live.events(&run_id).len();
    match fault {
        DatabaseFault::Outage(length) => {
            proxy.cut();
            keep_watching(&mut live, length).await;
        }
        DatabaseFault::LostAcknowledgements(length) => {
            proxy.swallow_replies();
            keep_watching(&mut live, length).await;
            proxy.cut();
            keep_watching(&mut live, Duration::from_millis(500)).await;
        }
    }
    proxy.restore();
    eprintln!(
        "{fault:?}: the live viewer had {before_fault} events when it struck, {} when the database came back",
        live.events(&run_id).len()
    );

    let finished = finished_by(
        &mut live,
        &cluster,
        &run_id,
        Instant::now() + Duration::from_secs(40),
        "after the database came back",
    )
    .await;
    let context = describe(&cluster, &run_id).await;
    let live_events = live.events(&run_id);
    assert!(
        matches!(finished, RunEvent::Finished { status: RunStatus::Completed, .. }),
        "the reply completes despite {fault:?}: {finished:?}\n{context}"
    );
    assert_contiguous(&live_events);
    assert_eq!(live.text(&run_id), script, "the live viewer saw the whole reply, once\n{context}");

    let mut again = Viewer::open(&user, &a).await;
    again.send(&ClientMessage::Resume { run_id: run_id.clone(), after_seq: 0 }).await;
    let finished_again = finished_by(
        &mut again,
        &cluster,
        &run_id,
        Instant::now() + Duration::from_secs(20),
        "resuming the finished run from the start",
    )
    .await;
    assert_eq!(finished_again, finished);
    assert_eq!(again.events(&run_id), live_events, "a resume replays exactly what was shown live\n{context}");

    let replies = stored_replies(&cluster, &conversation_id).await;
    assert_eq!(
        replies,
        vec![("complete".to_owned(), script.clone())],
        "the stored reply is the whole text, once\n{context}"
    );

    drop(a);
    drop(proxy);
    cluster.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_of_ten_seconds_mid_reply_loses_and_duplicates_nothing() {
    reply_survives(DatabaseFault::Outage(Duration::from_secs(10))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_of_thirty_seconds_mid_reply_loses_and_duplicates_nothing() {
    reply_survives(DatabaseFault::Outage(Duration::from_secs(30))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_commit_acknowledgement_loses_and_duplicates_nothing() {
    reply_survives(DatabaseFault::LostAcknowledgements(Duration::from_secs(2))).await;
}
