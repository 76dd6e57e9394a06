//! The app's live connection to `/ws`: a badge that shows its state, and (in the browser only)
//! the task that keeps it open — it proves the link with a ping/pong round trip, sends a
//! heartbeat, and reconnects with capped, jittered exponential backoff when the link drops.

use std::time::Duration;

use leptos::prelude::*;

/// What the user is told about the link to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// First attempt, before any pong came back.
    Connecting,
    /// A pong answered our ping on the current socket.
    Connected,
    /// The link dropped (or never came up) and the next attempt is scheduled.
    Reconnecting,
    /// The server speaks a newer protocol: the page must be reloaded.
    Outdated,
}

impl ConnectionState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Connecting => "Connecting…",
            Self::Connected => "Connected",
            Self::Reconnecting => "Reconnecting…",
            Self::Outdated => "Jarvis was updated — reload the page",
        }
    }

    fn dot_class(self) -> &'static str {
        match self {
            Self::Connected => "bg-emerald-500",
            Self::Connecting | Self::Reconnecting => "bg-amber-400 animate-pulse",
            Self::Outdated => "bg-rose-500",
        }
    }
}

/// The first retry waits this long; each further one twice as long, up to [`BACKOFF_CAP`].
pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(10);

/// The delay before reconnect attempt `attempt` (0-based). `jitter` in `[0, 1)` spreads the
/// delay over its upper half so that many clients dropped together do not return together.
pub fn backoff_delay(attempt: u32, jitter: f64) -> Duration {
    let exponential = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(attempt.min(16)));
    let capped = exponential.min(BACKOFF_CAP);
    capped.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A badge with the connection state, announced politely to screen readers.
#[component]
pub fn ConnectionStatus(state: RwSignal<ConnectionState>) -> impl IntoView {
    view! {
        <p
            role="status"
            aria-live="polite"
            class="flex items-center gap-2 text-sm text-slate-600"
            data-state=move || format!("{:?}", state.get()).to_lowercase()
        >
            <span class=move || format!("inline-block h-2 w-2 rounded-full {}", state.get().dot_class()) aria-hidden="true"></span>
            {move || state.get().label()}
        </p>
    }
}

#[cfg(feature = "hydrate")]
pub mod client {
    //! The browser half: one socket at a time, replaced after every drop. Outgoing messages
    //! queue in `outbox` and go out on whichever socket is open; every incoming message goes to
    //! `on_message`.

    use std::pin::pin;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use futures::channel::mpsc::UnboundedReceiver;
    use futures::future::{Either, select};
    use futures::{SinkExt, StreamExt};
    use gloo_net::websocket::{Message, futures::WebSocket};
    use gloo_timers::future::sleep;
    use jarvis_types::protocol::{ClientMessage, PROTOCOL_VERSION, ServerMessage, WS_PATH};
    use leptos::prelude::*;

    use super::{ConnectionState, backoff_delay};

    /// What the connection reports to its owner.
    pub type OnMessage = Rc<dyn Fn(ServerMessage)>;

    /// How long a healthy socket stays quiet before we ping it.
    const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(20);
    /// How long we wait for a pong before declaring the socket dead.
    const PONG_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

    /// How one socket's life ended.
    enum Ended {
        /// It had been proven live; the next attempt starts the backoff afresh.
        AfterConnected,
        /// It never answered a ping.
        BeforeConnected,
        /// The server speaks another protocol version; retrying will not help.
        Outdated,
    }

    pub async fn keep_connected(
        state: RwSignal<ConnectionState>,
        stopped: Arc<AtomicBool>,
        mut outbox: UnboundedReceiver<ClientMessage>,
        on_message: OnMessage,
    ) {
        let mut attempt = 0u32;
        while !stopped.load(Ordering::Relaxed) {
            match connect_once(state, &stopped, &mut outbox, &on_message).await {
                Ended::Outdated => {
                    state.set(ConnectionState::Outdated);
                    return;
                }
                Ended::AfterConnected => attempt = 0,
                Ended::BeforeConnected => {}
            }
            if stopped.load(Ordering::Relaxed) {
                return;
            }
            state.set(ConnectionState::Reconnecting);
            sleep(backoff_delay(attempt, js_sys::Math::random())).await;
            attempt = attempt.saturating_add(1);
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
    ) -> Ended {
        let Some(url) = socket_url() else { return Ended::BeforeConnected };
        let socket = match WebSocket::open(&url) {
            Ok(socket) => socket,
            Err(error) => {
                leptos::logging::warn!("ws.open_failed: {error}");
                return Ended::BeforeConnected;
            }
        };
        let (mut write, mut read) = socket.split();
        let mut connected = false;
        let mut next_nonce = 1u64;
        let mut awaiting_pong = None;

        loop {
            if stopped.load(Ordering::Relaxed) {
                return ended(connected);
            }
            if awaiting_pong.is_none() {
                let nonce = next_nonce;
                next_nonce += 1;
                let ping =
                    serde_json::to_string(&ClientMessage::Ping { nonce }).expect("a ping always serialises");
                if write.send(Message::Text(ping)).await.is_err() {
                    return ended(connected);
                }
                awaiting_pong = Some(nonce);
            }
            // While a pong is due, wait at most the pong timeout; otherwise stay quiet for a
            // heartbeat interval.
            let timeout = if awaiting_pong.is_some() { PONG_TIMEOUT } else { HEARTBEAT };
            let next = read.next();
            // Only a proven socket takes the user's messages.
            let proven = connected;
            let queue = &mut *outbox;
            let outgoing =
                async move { if proven { queue.next().await } else { std::future::pending().await } };
            let timer = pin!(sleep(timeout));
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
                        Ok(ServerMessage::Hello { protocol_version })
                            if protocol_version != PROTOCOL_VERSION =>
                        {
                            return Ended::Outdated;
                        }
                        Ok(ServerMessage::Pong { nonce }) if Some(nonce) == awaiting_pong => {
                            awaiting_pong = None;
                            if !connected {
                                connected = true;
                                state.set(ConnectionState::Connected);
                                on_message(ServerMessage::Hello { protocol_version: PROTOCOL_VERSION });
                            }
                        }
                        Ok(ServerMessage::Hello { .. } | ServerMessage::Pong { .. }) => {}
                        Ok(message) => on_message(message),
                        Err(error) => leptos::logging::warn!("ws.unreadable_message: {error}"),
                    }
                }
                Either::Left((Either::Left((Some(Ok(Message::Bytes(_))), _)), _)) => {}
                Either::Left((Either::Left((Some(Err(_)) | None, _)), _)) => return ended(connected),
                Either::Right(_) => {
                    if awaiting_pong.is_some() {
                        // No pong within the timeout: the socket is dead even if it looks open.
                        return ended(connected);
                    }
                }
            }
        }
    }

    fn ended(connected: bool) -> Ended {
        if connected { Ended::AfterConnected } else { Ended::BeforeConnected }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_second() {
        assert_eq!(backoff_delay(0, 1.0), Duration::from_millis(500));
        assert_eq!(backoff_delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(backoff_delay(2, 1.0), Duration::from_secs(2));
    }

    #[test]
    fn backoff_never_exceeds_the_cap_even_after_many_attempts() {
        assert_eq!(backoff_delay(5, 1.0), BACKOFF_CAP);
        assert_eq!(backoff_delay(u32::MAX, 1.0), BACKOFF_CAP);
    }

    #[test]
    fn jitter_spreads_the_delay_over_its_upper_half() {
        assert_eq!(backoff_delay(3, 0.0), Duration::from_secs(2));
        assert_eq!(backoff_delay(3, 0.5), Duration::from_secs(3));
        assert_eq!(backoff_delay(3, 7.0), Duration::from_secs(4), "out-of-range jitter is clamped");
    }
}
