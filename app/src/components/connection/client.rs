//! The browser half of the connection (built with `hydrate` only): one socket at a time,
//! replaced after every drop as [`Reconnection`] says, pinged as its [`Heartbeat`] says.
//! Outgoing messages queue in `outbox` and go out on whichever socket is proven; every incoming
//! message goes to `on_message`. A socket closed because its session ended is not replaced: the
//! page goes to log in.

use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{Either, select};
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
use gloo_timers::future::sleep;
use jarvis_types::protocol::{CLOSE_SESSION_ENDED, ClientMessage, PROTOCOL_VERSION, ServerMessage, WS_PATH};
use leptos::prelude::*;

use super::heartbeat::{Heartbeat, HeartbeatAction};
use super::reconnect::{ReconnectStep, Reconnection, SocketEnd};
use super::status::ConnectionState;

/// What the connection reports to its owner.
pub type OnMessage = Rc<dyn Fn(ServerMessage)>;

pub async fn keep_connected(
    state: RwSignal<ConnectionState>,
    stopped: Arc<AtomicBool>,
    mut outbox: UnboundedReceiver<ClientMessage>,
    on_message: OnMessage,
) {
    let mut reconnection = Reconnection::new();
    while !stopped.load(Ordering::Relaxed) {
        let end = connect_once(state, &stopped, &mut outbox, &on_message).await;
        match reconnection.on_end(end, js_sys::Math::random()) {
            ReconnectStep::GiveUp(final_state) => {
                state.set(final_state);
                return;
            }
            ReconnectStep::Leave { after, url } => {
                sleep(after).await;
                crate::browser::navigate(url);
                return;
            }
            ReconnectStep::RetryAfter(delay) => {
                if stopped.load(Ordering::Relaxed) {
                    return;
                }
                state.set(ConnectionState::Reconnecting);
                sleep(delay).await;
            }
        }
    }
}

fn socket_url() -> Option<String> {
    let location = window().location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}{WS_PATH}", location.host().ok()?))
}

async fn connect_once(
    state: RwSignal<ConnectionState>,
    stopped: &AtomicBool,
    outbox: &mut UnboundedReceiver<ClientMessage>,
    on_message: &OnMessage,
) -> SocketEnd {
    let Some(url) = socket_url() else { return SocketEnd::BeforeConnected };
    let socket = match WebSocket::open(&url) {
        Ok(socket) => socket,
        Err(error) => {
            leptos::logging::warn!("ws.open_failed: {error}");
            return SocketEnd::BeforeConnected;
        }
    };
    let (mut write, mut read) = socket.split();
    let mut connected = false;
    let mut heartbeat = Heartbeat::new();

    loop {
        if stopped.load(Ordering::Relaxed) {
            return ended(connected);
        }
        let wait = match heartbeat.next_action(now_ms()) {
            HeartbeatAction::Ping { nonce } => {
                let ping =
                    serde_json::to_string(&ClientMessage::Ping { nonce }).expect("a ping always serialises");
                if write.send(Message::Text(ping)).await.is_err() {
                    return ended(connected);
                }
                continue;
            }
            HeartbeatAction::Wait(wait) => wait,
            // No pong within the timeout: the socket is dead even if it looks open.
            HeartbeatAction::Dead => return ended(connected),
        };
        let next = read.next();
        // Only a proven socket takes the user's messages.
        let proven = connected;
        let queue = &mut *outbox;
        let outgoing = async move { if proven { queue.next().await } else { std::future::pending().await } };
        let timer = pin!(sleep(wait));
        let outgoing = pin!(outgoing);
        let incoming_or_outgoing = select(next, outgoing);
        match select(incoming_or_outgoing, timer).await {
            Either::Left((Either::Right((Some(message), _)), _)) => {
                let json = serde_json::to_string(&message).expect("protocol messages serialise");
                if write.send(Message::Text(json)).await.is_err() {
                    return ended(connected);
                }
            }
            Either::Left((Either::Right((None, _)), _)) => return ended(connected),
            Either::Left((Either::Left((Some(Ok(Message::Text(text))), _)), _)) => {
                match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Hello { protocol_version }) if protocol_version != PROTOCOL_VERSION => {
                        return SocketEnd::Outdated;
                    }
                    Ok(ServerMessage::Pong { nonce }) => {
                        if heartbeat.on_pong(nonce, now_ms()) && !connected {
                            connected = true;
                            state.set(ConnectionState::Connected);
                            on_message(ServerMessage::Hello { protocol_version: PROTOCOL_VERSION });
                        }
                    }
                    Ok(ServerMessage::Hello { .. }) => heartbeat.on_frame(now_ms()),
                    Ok(message) => {
                        heartbeat.on_frame(now_ms());
                        on_message(message);
                    }
                    Err(error) => {
                        heartbeat.on_frame(now_ms());
                        leptos::logging::warn!("ws.unreadable_message: {error}");
                    }
                }
            }
            Either::Left((Either::Left((Some(Ok(Message::Bytes(_))), _)), _)) => heartbeat.on_frame(now_ms()),
            Either::Left((Either::Left((Some(Err(WebSocketError::ConnectionClose(close))), _)), _))
                if close.code == CLOSE_SESSION_ENDED =>
            {
                return SocketEnd::SessionEnded;
            }
            Either::Left((Either::Left((Some(Err(_)) | None, _)), _)) => return ended(connected),
            // Time to ask the heartbeat again (a ping, or a dead socket).
            Either::Right(_) => {}
        }
    }
}

/// Wall-clock milliseconds; [`Heartbeat`] tolerates the clock stepping back.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

fn ended(connected: bool) -> SocketEnd {
    if connected { SocketEnd::AfterConnected } else { SocketEnd::BeforeConnected }
}
