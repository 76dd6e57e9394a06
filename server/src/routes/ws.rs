//! `GET /ws`: the browser's one WebSocket. Speaks `jarvis_types::protocol`: greets with the
//! protocol version, answers pings, reports unreadable frames without closing, closes idle
//! sockets, and closes every socket with 1012 ("service restart") when the server stops so that
//! clients reconnect to another instance or to this one once it is back.

use std::time::Duration;

use axum::{
    extract::{
        State, WebSocketUpgrade,
        ws::{CloseFrame, Message, Utf8Bytes, WebSocket, close_code},
    },
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use jarvis_types::protocol::{ClientMessage, ErrorCode, PROTOCOL_VERSION, ServerMessage};
use tokio_util::sync::CancellationToken;

use crate::{
    auth::RequireUser,
    routes::origin::{self, OriginCheck},
    state::AppState,
};

/// Frames larger than this are refused by the socket layer.
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// A socket that sends nothing (not even the client's heartbeat ping) for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

#[tracing::instrument(name = "ws.upgrade", skip_all, fields(user.id = tracing::field::Empty))]
pub async fn upgrade(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: Result<RequireUser, Response>,
    upgrade: WebSocketUpgrade,
) -> Response {
    if origin::check(&headers, &state.public_url) == OriginCheck::Denied {
        tracing::warn!(origin = ?headers.get(axum::http::header::ORIGIN), "ws.origin_denied");
        return (StatusCode::FORBIDDEN, "This origin may not open a socket here.").into_response();
    }
    let RequireUser(user) = match user {
        Ok(user) => user,
        Err(rejection) => return rejection,
    };
    tracing::Span::current().record("user.id", tracing::field::display(user.user_id));
    let shutdown = state.shutdown.clone();
    upgrade
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| session(socket, shutdown))
}

async fn session(mut socket: WebSocket, shutdown: CancellationToken) {
    tracing::debug!("ws.opened");
    if send(&mut socket, &ServerMessage::Hello { protocol_version: PROTOCOL_VERSION }).await.is_err() {
        return;
    }
    loop {
        let frame = tokio::select! {
            () = shutdown.cancelled() => {
                let close = CloseFrame { code: close_code::RESTART, reason: Utf8Bytes::from_static("server restarting") };
                let _ = socket.send(Message::Close(Some(close))).await;
                tracing::debug!("ws.closed_for_shutdown");
                return;
            }
            frame = tokio::time::timeout(IDLE_TIMEOUT, socket.recv()) => frame,
        };
        let reply = match frame {
            Err(_elapsed) => {
                tracing::debug!("ws.idle_timeout");
                let close = CloseFrame { code: close_code::AWAY, reason: Utf8Bytes::from_static("idle") };
                let _ = socket.send(Message::Close(Some(close))).await;
                return;
            }
            Ok(None | Some(Ok(Message::Close(_)))) => break,
            Ok(Some(Err(error))) => {
                tracing::debug!(%error, "ws.receive_failed");
                break;
            }
            Ok(Some(Ok(Message::Text(text)))) => handle_text(text.as_str()),
            Ok(Some(Ok(Message::Binary(_)))) => Some(bad_message("Binary frames are not part of the protocol.")),
            // Protocol-level pings are answered by the socket layer itself.
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => None,
        };
        if let Some(reply) = reply {
            if send(&mut socket, &reply).await.is_err() {
                break;
            }
        }
    }
    tracing::debug!("ws.closed");
}

/// Handles one text frame and says what to answer.
fn handle_text(text: &str) -> Option<ServerMessage> {
    match serde_json::from_str::<ClientMessage>(text) {
        Ok(ClientMessage::Ping { nonce }) => Some(ServerMessage::Pong { nonce }),
        Err(error) => {
            tracing::debug!(%error, "ws.bad_message");
            Some(bad_message("That message is not part of the protocol."))
        }
    }
}

fn bad_message(message: &str) -> ServerMessage {
    ServerMessage::Error { code: ErrorCode::BadMessage, message: message.to_owned() }
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> Result<(), axum::Error> {
    let json = serde_json::to_string(message).expect("protocol messages always serialise");
    socket.send(Message::Text(json.into())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_is_answered_with_a_pong_carrying_its_nonce() {
        assert_eq!(handle_text(r#"{"type":"ping","nonce":42}"#), Some(ServerMessage::Pong { nonce: 42 }));
    }

    #[test]
    fn an_unknown_frame_is_answered_with_a_bad_message_error() {
        for frame in ["not json", r#"{"type":"rm_rf"}"#, r#"{"type":"ping"}"#] {
            let reply = handle_text(frame);
            assert!(
                matches!(reply, Some(ServerMessage::Error { code: ErrorCode::BadMessage, .. })),
                "{frame} -> {reply:?}"
            );
        }
    }
}
