//! One simulated user: opens the WebSocket as a browser would (access cookie, our Origin), waits
//! for `hello`, waits for the step's signal, sends one message and reads its run until
//! `Finished`, stamping every text delta with the moment it arrived. Pings every 20 s like the
//! app, so that a slow run is not mistaken for an idle socket.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jarvis_types::protocol::{ClientMessage, RunEvent, RunStatus, ServerMessage};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::fake_model::prompt_for;
use crate::marker::{MarkerReader, now_micros};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_secs(20);

/// How a user reaches the server.
#[derive(Debug, Clone)]
pub struct Target {
    pub ws_url: String,
    pub origin: String,
}

/// What one user saw.
#[derive(Debug, Default)]
pub struct Outcome {
    pub tag: String,
    /// Why the user's exchange failed, if it did.
    pub error: Option<String>,
    /// Each completed marker with the moment (µs since the epoch) its last piece arrived.
    pub arrivals: Vec<(u32, u64, u64)>,
    pub first_text_micros: Option<u64>,
    pub seqs: Vec<u64>,
    pub reader: MarkerReader,
}

impl Outcome {
    fn failed(mut self, error: impl Into<String>) -> Self {
        self.error.get_or_insert(error.into());
        self
    }
}

/// How a user takes part in a step.
#[derive(Debug)]
pub struct Cue {
    /// Bounds how many sockets are being opened at once.
    pub opening: Arc<Semaphore>,
    /// Told once this user's socket is open (`true`) or failed to open (`false`).
    pub opened: mpsc::UnboundedSender<bool>,
    /// Raised when every user of the step has tried to open its socket.
    pub go: watch::Receiver<bool>,
    /// How long after `go` to send (spreading the step's messages over a short window).
    pub send_delay: Duration,
}

/// Plays one user through a step.
pub async fn run(target: Target, access_token: String, tag: String, cue: Cue) -> Outcome {
    let Cue { opening, opened, mut go, send_delay } = cue;
    let outcome = Outcome { tag, ..Outcome::default() };
    let mut socket = {
        let Ok(_permit) = opening.acquire().await else { return outcome.failed("cancelled") };
        let socket = match tokio::time::timeout(OPEN_TIMEOUT, open(&target, &access_token)).await {
            Ok(Ok(socket)) => Ok(socket),
            Ok(Err(error)) => Err(error),
            Err(_) => Err("no hello within 30 s".to_owned()),
        };
        let _ = opened.send(socket.is_ok());
        match socket {
            Ok(socket) => socket,
            Err(error) => return outcome.failed(error),
        }
    };
    // Wait for the step to start, answering nothing but keeping the socket alive.
    loop {
        tokio::select! {
            changed = async { go.wait_for(|go| *go).await.map(|_| ()) } => {
                if changed.is_err() {
                    return outcome.failed("cancelled");
                }
                break;
            }
            () = tokio::time::sleep(HEARTBEAT) => {
                if let Err(error) = send(&mut socket, &ClientMessage::Ping { nonce: 0 }).await {
                    return outcome.failed(format!("socket lost before sending: {error}"));
                }
            }
        }
    }
    tokio::time::sleep(send_delay).await;
    let outcome = exchange(&mut socket, outcome).await;
    let _ = socket.close(None).await;
    outcome
}

async fn open(target: &Target, access_token: &str) -> Result<Socket, String> {
    let mut request = target.ws_url.as_str().into_client_request().map_err(|error| error.to_string())?;
    let headers = request.headers_mut();
    headers.insert(
        "cookie",
        HeaderValue::from_str(&format!("jarvis_access={access_token}")).map_err(|error| error.to_string())?,
    );
    headers.insert("origin", HeaderValue::from_str(&target.origin).map_err(|error| error.to_string())?);
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(request, None, true)
        .await
        .map_err(|error| format!("opening the socket: {error}"))?;
    match next_message(&mut socket).await? {
        ServerMessage::Hello { .. } => Ok(socket),
        other => Err(format!("expected hello, got {other:?}")),
    }
}

async fn exchange(socket: &mut Socket, mut outcome: Outcome) -> Outcome {
    let message = ClientMessage::Send {
        client_message_id: uuid::Uuid::new_v4().to_string(),
        conversation_id: None,
        text: prompt_for(&outcome.tag),
        attachments: Vec::new(),
        model: None,
    };
    if let Err(error) = send(socket, &message).await {
        return outcome.failed(format!("sending the message: {error}"));
    }
    let mut run_id: Option<String> = None;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT);
    loop {
        let message = tokio::select! {
            message = next_message(socket) => message,
            _ = heartbeat.tick() => {
                if let Err(error) = send(socket, &ClientMessage::Ping { nonce: 1 }).await {
                    return outcome.failed(format!("socket lost: {error}"));
                }
                continue;
            }
        };
        let arrived = now_micros();
        let message = match message {
            Ok(message) => message,
            Err(error) => return outcome.failed(error),
        };
        match message {
            ServerMessage::Run { run_id: id, seq, event } => {
                if run_id.get_or_insert_with(|| id.clone()) != &id {
                    return outcome.failed("events of another run arrived");
                }
                outcome.seqs.push(seq);
                match event {
                    RunEvent::TextDelta { text } => {
                        outcome.first_text_micros.get_or_insert(arrived);
                        for marker in outcome.reader.push(&text) {
                            if marker.tag != outcome.tag {
                                outcome.error.get_or_insert_with(|| {
                                    format!("text of reply {} arrived for reply {}", marker.tag, outcome.tag)
                                });
                            }
                            outcome.arrivals.push((marker.index, marker.sent_micros, arrived));
                        }
                    }
                    RunEvent::Retrying { attempt, .. } => {
                        outcome
                            .error
                            .get_or_insert_with(|| format!("the model call was retried ({attempt})"));
                    }
                    RunEvent::Finished { status, stop_reason, error } => {
                        if status != RunStatus::Completed {
                            let detail = error.map(|error| error.code).unwrap_or_default();
                            return outcome.failed(format!("run ended {status:?} ({stop_reason} {detail})"));
                        }
                        return outcome;
                    }
                    _ => {}
                }
            }
            ServerMessage::Pong { .. } | ServerMessage::Hello { .. } => {}
            ServerMessage::Error { code, message, .. } => {
                return outcome.failed(format!("server error {code:?}: {message}"));
            }
            ServerMessage::LimitReached { limit, .. } => {
                return outcome.failed(format!("limit reached: {limit:?}"));
            }
        }
    }
}

async fn send(socket: &mut Socket, message: &ClientMessage) -> Result<(), String> {
    let json = serde_json::to_string(message).map_err(|error| error.to_string())?;
    socket.send(Message::text(json)).await.map_err(|error| error.to_string())
}

/// The next protocol message; socket errors and closes are errors. No timeout of its own: the
/// caller bounds the wait.
async fn next_message(socket: &mut Socket) -> Result<ServerMessage, String> {
    loop {
        match socket.next().await {
            None => return Err("the socket closed".into()),
            Some(Err(error)) => return Err(format!("socket error: {error}")),
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(text.as_str())
                    .map_err(|error| format!("unreadable frame ({error}): {}", text.as_str()));
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(format!("the server closed the socket: {frame:?}"));
            }
            Some(Ok(_)) => {}
        }
    }
}
