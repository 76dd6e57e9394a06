//! `GET /ws`: the browser's one WebSocket, for signed-in users only. Speaks
//! `jarvis_types::protocol`: greets with the protocol version, answers pings, starts (for a new
//! question, an edited one or a regenerated reply), stops and follows agent runs. Runs do not
//! belong to the socket: they go on when it drops, and a client reconnecting (to this instance
//! or another) resumes after the last event it saw. Unreadable frames get an error event and the
//! connection stays open; idle sockets are closed; every socket is closed with 1012 ("service
//! restart") when the server stops.
//!
//! A socket acts only for a live session. It holds its session in the accounts' registry, which
//! ends it within moments when the session ends anywhere (or a periodic check finds it over);
//! the socket then closes with [`CLOSE_SESSION_ENDED`], and before acting on any message or
//! sending any event it looks at that flag (no database round trip). When the access token it
//! was opened with expires, it asks the database whether the session could still refresh it.

use std::task::Poll;
use std::time::Duration;

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use axum_extra::extract::cookie::CookieJar;
use futures::{FutureExt, SinkExt, StreamExt};
use jarvis_backend::{
    ErrorKind, Kinded,
    accounts::{CurrentUser, open_sessions::SessionHandle},
    chat::{Chat, ChatError, MessageOptions},
};
use jarvis_types::protocol::{
    CLOSE_SESSION_ENDED, ClientMessage, ErrorCode, MAX_FRAME_BYTES, PROTOCOL_VERSION, ServerMessage,
};
use tokio::time::Instant;
use uuid::Uuid;

use crate::{
    auth::{
        ACCESS_COOKIE, RequireUser,
        origin::{self, OriginCheck},
    },
    error::{ApiError, generic_message, is_ours, log_failure},
    state::AppState,
};

/// A socket that sends nothing (not even the client's heartbeat ping) for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// When the database could not say whether a session is live, it is asked again this soon.
const LIVENESS_RETRY: Duration = Duration::from_secs(5);

#[tracing::instrument(name = "ws.upgrade", skip_all, fields(user.id = tracing::field::Empty))]
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<RequireUser, ApiError>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if origin::check(&headers, &state.public_url) == OriginCheck::Denied {
        tracing::warn!(origin = ?headers.get(axum::http::header::ORIGIN), "ws.origin_denied");
        return (StatusCode::FORBIDDEN, "This origin may not open a socket here.").into_response();
    }
    let RequireUser(user) = match user {
        Ok(user) => user,
        Err(rejection) => return rejection.into_response(),
    };
    tracing::Span::current().record("user.id", tracing::field::display(user.user_id));
    // Held from before the upgrade, so that an end announced from now on reaches this socket.
    let held = state.accounts.hold_session(user);
    let access_expires = access_expiry(&state, &headers, user);
    upgrade
        .max_message_size(MAX_FRAME_BYTES)
        .read_buffer_size(8 * 1024) // not 128 KiB: an idle socket's read buffer stays resident
        .write_buffer_size(8 * 1024)
        .on_upgrade(move |socket| session(socket, state, held, access_expires))
}

/// When the access token this socket was opened with expires: the cookie's own expiry, or a
/// whole lifetime from now when the session layer refreshed it on the way in.
fn access_expiry(state: &AppState, headers: &HeaderMap, user: CurrentUser) -> Instant {
    let tokens = state.accounts.access_tokens();
    let remaining = CookieJar::from_headers(headers)
        .get(ACCESS_COOKIE)
        .and_then(|cookie| tokens.verify(cookie.value()).ok())
        .filter(|claims| claims.sid == user.session_id)
        .map(|claims| u64::try_from(claims.exp - chrono::Utc::now().timestamp()).unwrap_or(0))
        .map_or(tokens.lifetime(), Duration::from_secs);
    Instant::now() + remaining.min(tokens.lifetime())
}

async fn session(socket: WebSocket, state: AppState, held: SessionHandle, access_expires: Instant) {
    tracing::debug!("ws.opened");
    let _open = crate::metrics::OpenSocket::new();
    let user = held.user();
    let (mut sink, mut stream) = socket.split();
    // The runs this socket follows, polled by this task itself (no task and no channel per
    // follower): whatever they have ready goes out together, in one flush.
    let mut follows = Follows::default();
    let shutdown = state.shutdown.clone();
    // Made once, not per turn of the loop: each would register with its timer or token again.
    let cancelled = shutdown.cancelled();
    let ended = held.ended();
    let liveness_check = tokio::time::sleep_until(access_expires);
    let idle = tokio::time::sleep(IDLE_TIMEOUT);
    tokio::pin!(cancelled, ended, liveness_check, idle);

    if held.is_ended() {
        close_for_ended_session(&mut sink).await;
        return;
    }
    if send(&mut sink, &ServerMessage::Hello { protocol_version: PROTOCOL_VERSION }).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            () = &mut cancelled => {
                let close = CloseFrame { code: close_code::RESTART, reason: Utf8Bytes::from_static("server restarting") };
                let _ = sink.send(Message::Close(Some(close))).await;
                tracing::debug!("ws.closed_for_shutdown");
                break;
            }
            () = &mut ended => {
                close_for_ended_session(&mut sink).await;
                break;
            }
            // The access token expired: only a live session could have refreshed it.
            () = &mut liveness_check => {
                match state.accounts.session_is_live(user).await {
                    Ok(true) => liveness_check.as_mut().reset(Instant::now() + state.accounts.access_tokens().lifetime()),
                    Ok(false) => {
                        held.end();
                        close_for_ended_session(&mut sink).await;
                        break;
                    }
                    Err(error) => {
                        tracing::warn!(%error, "ws.session_check_failed");
                        liveness_check.as_mut().reset(Instant::now() + LIVENESS_RETRY);
                    }
                }
            }
            message = follows.next() => {
                // Nothing more of the user's runs goes to a socket whose session ended.
                if held.is_ended() {
                    close_for_ended_session(&mut sink).await;
                    break;
                }
                // Whatever else is already waiting goes out with it, in one flush.
                let mut batch = vec![message];
                while batch.len() < 64 {
                    match follows.next().now_or_never() {
                        Some(message) => batch.push(message),
                        None => break,
                    }
                }
                if send_all(&mut sink, batch).await.is_err() {
                    break;
                }
            }
            () = &mut idle => {
                let close = CloseFrame { code: close_code::AWAY, reason: Utf8Bytes::from_static("idle") };
                let _ = sink.send(Message::Close(Some(close))).await;
                break;
            }
            frame = stream.next() => {
                idle.as_mut().reset(Instant::now() + IDLE_TIMEOUT);
                let text = match frame {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(error)) => {
                        tracing::debug!(%error, "ws.receive_failed");
                        break;
                    }
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        if send(&mut sink, &bad_message("Binary frames are not part of the protocol.")).await.is_err() {
                            break;
                        }
                        continue;
                    }
                    // Protocol-level pings are answered by the socket layer itself.
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                };
                // Nothing is done for a session known to have ended, however the frame arrived.
                if held.is_ended() {
                    close_for_ended_session(&mut sink).await;
                    break;
                }
                let reply = handle(&state.chat, user, text.as_str(), &mut follows).await;
                if let Some(reply) = reply
                    && send(&mut sink, &reply).await.is_err()
                {
                    break;
                }
            }
        }
    }
    tracing::debug!("ws.closed");
}

/// A run followed by a socket: its events as the text of protocol frames, ready to send.
type FollowStream = std::pin::Pin<Box<dyn futures::Stream<Item = String> + Send>>;

/// The runs a socket follows, each at most once.
#[derive(Default)]
struct Follows {
    runs: Vec<(Uuid, FollowStream)>,
}

impl Follows {
    /// Follows a run, replacing an earlier follower of the same run (so no event is sent twice).
    fn insert(&mut self, run_id: Uuid, events: FollowStream) {
        self.runs.retain(|(id, _)| *id != run_id);
        self.runs.push((run_id, events));
    }

    /// The next frame of any followed run; pending while there is none (forever when no run is
    /// followed). A run whose events ended is forgotten.
    fn next(&mut self) -> impl Future<Output = String> + '_ {
        std::future::poll_fn(move |cx| {
            let mut index = 0;
            while index < self.runs.len() {
                match self.runs[index].1.as_mut().poll_next(cx) {
                    Poll::Ready(Some(message)) => return Poll::Ready(message),
                    Poll::Ready(None) => {
                        drop(self.runs.swap_remove(index));
                    }
                    Poll::Pending => index += 1,
                }
            }
            Poll::Pending
        })
    }
}

/// Handles one text frame; returns what to answer at once, if anything.
async fn handle(chat: &Chat, user: CurrentUser, text: &str, follows: &mut Follows) -> Option<ServerMessage> {
    let message = match serde_json::from_str::<ClientMessage>(text) {
        Ok(message) => message,
        Err(error) => {
            tracing::debug!(%error, "ws.bad_message");
            return Some(bad_message("That message is not part of the protocol."));
        }
    };
    match message {
        ClientMessage::Ping { nonce } => Some(ServerMessage::Pong { nonce }),
        ClientMessage::Send { client_message_id, conversation_id, text, attachments, model } => {
            let conversation_id = match conversation_id.as_deref().map(Uuid::parse_str) {
                None => None,
                Some(Ok(id)) => Some(id),
                Some(Err(_)) => return Some(error_message(&ChatError::NotFound)),
            };
            let options = MessageOptions {
                attachments: &attachments,
                model: model.as_deref(),
                client_message_id: Some(&client_message_id),
            };
            let started = chat.start(user.user_id, conversation_id, &text, options).await;
            started_or_error(chat, user, started, follows)
        }
        ClientMessage::Edit { client_message_id, conversation_id, message_id, text, model } => {
            let (Ok(conversation_id), Ok(message_id)) =
                (Uuid::parse_str(&conversation_id), Uuid::parse_str(&message_id))
            else {
                return Some(error_message(&ChatError::NotFound));
            };
            let options = MessageOptions {
                model: model.as_deref(),
                client_message_id: Some(&client_message_id),
                ..Default::default()
            };
            let started = chat.edit(user.user_id, conversation_id, message_id, &text, options).await;
            started_or_error(chat, user, started, follows)
        }
        ClientMessage::Regenerate { client_message_id, conversation_id, message_id, model } => {
            let (Ok(conversation_id), Ok(message_id)) =
                (Uuid::parse_str(&conversation_id), Uuid::parse_str(&message_id))
            else {
                return Some(error_message(&ChatError::NotFound));
            };
            let options = MessageOptions {
                model: model.as_deref(),
                client_message_id: Some(&client_message_id),
                ..Default::default()
            };
            let started = chat.regenerate(user.user_id, conversation_id, message_id, options).await;
            started_or_error(chat, user, started, follows)
        }
        ClientMessage::Cancel { run_id } => {
            let Ok(run_id) = Uuid::parse_str(&run_id) else {
                return Some(error_message(&ChatError::NotFound));
            };
            chat.cancel(user.user_id, run_id).await.err().map(|error| error_message(&error))
        }
        ClientMessage::Resume { run_id, after_seq } => {
            let Ok(run_id) = Uuid::parse_str(&run_id) else {
                return Some(error_message(&ChatError::NotFound));
            };
            follow(chat, user, run_id, after_seq, follows);
            None
        }
    }
}

/// Follows a run just started from this socket, or says why it did not start.
fn started_or_error(
    chat: &Chat,
    user: CurrentUser,
    started: Result<Uuid, ChatError>,
    follows: &mut Follows,
) -> Option<ServerMessage> {
    match started {
        Ok(run_id) => {
            follow(chat, user, run_id, 0, follows);
            None
        }
        Err(error) => Some(error_message(&error)),
    }
}

/// Streams a run's events after `after_seq` to this socket, replacing an earlier follower of the
/// same run (so no event is sent twice).
fn follow(chat: &Chat, user: CurrentUser, run_id: Uuid, after_seq: u64, follows: &mut Follows) {
    let run_id_text = run_id.to_string();
    let events = chat.follow(user.user_id, run_id, after_seq).map(move |item| match item {
        Ok((seq, event)) => run_frame(&run_id_text, seq, event.json()),
        Err(error) => frame(&error_message(&error)),
    });
    follows.insert(run_id, Box::pin(events));
}

/// The text of `ServerMessage::Run { run_id, seq, event }`, as `serde_json` writes it, around the
/// event's JSON made once when the run emitted it (not serialised again for each socket).
fn run_frame(run_id: &str, seq: u64, event_json: &str) -> String {
    use std::fmt::Write as _;
    const HEAD: &str = r#"{"type":"run","run_id":""#;
    let mut text = String::with_capacity(HEAD.len() + run_id.len() + event_json.len() + 40);
    text.push_str(HEAD);
    // A run id is a UUID: nothing in it needs escaping.
    text.push_str(run_id);
    let _ = write!(text, r#"","seq":{seq},"event":"#);
    text.push_str(event_json);
    text.push('}');
    text
}

fn frame(message: &ServerMessage) -> String {
    serde_json::to_string(message).expect("protocol messages always serialise")
}

/// Closes the socket of a session that ended, with a code that tells the client not to retry.
async fn close_for_ended_session(sink: &mut futures::stream::SplitSink<WebSocket, Message>) {
    let close = CloseFrame { code: CLOSE_SESSION_ENDED, reason: Utf8Bytes::from_static("session ended") };
    let _ = sink.send(Message::Close(Some(close))).await;
    tracing::info!("ws.closed_for_ended_session");
}

/// What the socket says when a request fails: the one mapping from chat errors to the protocol.
/// A limit says which and until when; a failure of ours is logged once, with its cause chain, and
/// told in general terms.
fn error_message(error: &ChatError) -> ServerMessage {
    let kind = error.kind();
    let code = match error {
        ChatError::LimitReached { refusal, can_upgrade, .. } => {
            return ServerMessage::LimitReached {
                limit: refusal.limit,
                message: error.to_string(),
                upgrade_url: can_upgrade.then(|| jarvis_types::billing::PRICING_PATH.to_owned()),
                retry_after_secs: refusal.retry_after_secs(),
            };
        }
        ChatError::EmailNotVerified => ErrorCode::EmailNotVerified,
        ChatError::InvalidMessage(_) | ChatError::AttachmentGone => ErrorCode::InvalidMessage,
        // Not the user's, or not there: told as such; a failure of ours below.
        ChatError::Attachments(_) if kind == ErrorKind::NotFound => ErrorCode::InvalidMessage,
        ChatError::Attachments(_) if kind == ErrorKind::Invalid => ErrorCode::InvalidMessage,
        ChatError::Attachments(_) => ErrorCode::Internal,
        ChatError::NotFound => ErrorCode::NotFound,
        ChatError::RunInProgress => ErrorCode::RunInProgress,
        ChatError::Database(_) | ChatError::Billing(_) | ChatError::Voice(_) => ErrorCode::Internal,
    };
    if code == ErrorCode::Internal || is_ours(kind) {
        log_failure(kind, "internal", error);
        return ServerMessage::Error {
            code: ErrorCode::Internal,
            message: generic_message(kind).to_owned(),
            retryable: true,
        };
    }
    ServerMessage::Error { code, message: error.to_string(), retryable: kind == ErrorKind::Conflict }
}

fn bad_message(message: &str) -> ServerMessage {
    ServerMessage::Error { code: ErrorCode::BadMessage, message: message.to_owned(), retryable: false }
}

/// Sends frames in order with one flush at the end.
async fn send_all(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    frames: Vec<String>,
) -> Result<(), axum::Error> {
    for text in frames {
        sink.feed(Message::Text(text.into())).await?;
    }
    sink.flush().await
}

async fn send(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    message: &ServerMessage,
) -> Result<(), axum::Error> {
    let json = serde_json::to_string(message).expect("protocol messages always serialise");
    sink.send(Message::Text(json.into())).await
}

#[cfg(test)]
mod tests {
    use jarvis_types::protocol::{RunError, RunEvent, RunStatus, ServerMessage};

    use super::run_frame;

    #[test]
    fn a_run_frame_is_exactly_what_serde_writes_for_the_message() {
        let run_id = uuid::Uuid::new_v4().to_string();
        let events = [
            RunEvent::TextDelta { text: "⟦u:1.2 i:3⟧ \"quoted\"\n".into() },
            RunEvent::Retrying { attempt: 2, wait_ms: 1500 },
            RunEvent::Finished {
                status: RunStatus::Failed,
                stop_reason: "failed".into(),
                error: Some(RunError { code: "overloaded".into(), message: "Busy.".into(), retryable: true }),
            },
        ];
        for (seq, event) in [1, 42, u64::MAX].into_iter().zip(events) {
            let event_json = serde_json::to_string(&event).unwrap();
            let expected =
                serde_json::to_string(&ServerMessage::Run { run_id: run_id.clone(), seq, event }).unwrap();
            assert_eq!(run_frame(&run_id, seq, &event_json), expected);
        }
    }
}
