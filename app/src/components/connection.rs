//! The app's live connection to `/ws`: a badge that shows its state, the heartbeat schedule
//! (a pure [`Heartbeat`]: one ping to prove a new socket, then one after each [`HEARTBEAT`] of
//! silence, and a dead socket after [`PONG_TIMEOUT`] without an answer), and (in the browser
//! only) the task that keeps the link open and reconnects with capped, jittered exponential
//! backoff when it drops.

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

/// How long a socket may stay silent (no frame from the server) before we ping it.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// How long we wait for a pong before declaring the socket dead.
pub const PONG_TIMEOUT: Duration = Duration::from_secs(10);

/// What the connection task does next to keep its socket proven live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatAction {
    /// Send a ping carrying this nonce now.
    Ping { nonce: u64 },
    /// Nothing is due: ask again after this long, or sooner if a frame arrives.
    Wait(Duration),
    /// A ping went unanswered for [`PONG_TIMEOUT`]: the socket is dead even if it looks open.
    Dead,
}

/// When one socket is pinged. Times are plain milliseconds from the caller's clock, so the
/// schedule is decided (and tested) without a browser; a clock that steps back is tolerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heartbeat {
    next_nonce: u64,
    /// The ping awaiting its pong: its nonce and when it was sent.
    awaiting: Option<(u64, u64)>,
    /// When the server was last heard from (any frame, pongs included).
    last_heard_ms: u64,
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

impl Heartbeat {
    /// The schedule of a socket just opened: nothing sent, nothing heard.
    pub fn new() -> Self {
        Self { next_nonce: 1, awaiting: None, last_heard_ms: 0 }
    }

    /// What to do at `now_ms`. A `Ping` is taken as sent: the next pong with its nonce answers it.
    pub fn next_action(&mut self, now_ms: u64) -> HeartbeatAction {
        // A clock that stepped back restarts the interval rather than stalling it.
        self.last_heard_ms = self.last_heard_ms.min(now_ms);
        if let Some((nonce, sent_ms)) = self.awaiting {
            let sent_ms = sent_ms.min(now_ms);
            self.awaiting = Some((nonce, sent_ms));
            // Any frame since the ping shows the link still carries data, so a pong queued
            // behind a long stream of run events does not condemn it.
            let deadline = sent_ms.max(self.last_heard_ms).saturating_add(millis(PONG_TIMEOUT));
            return if now_ms >= deadline {
                HeartbeatAction::Dead
            } else {
                HeartbeatAction::Wait(Duration::from_millis(deadline - now_ms))
            };
        }
        // The first ping goes at once: its pong is what proves a new socket.
        if self.next_nonce == 1 {
            return self.ping(now_ms);
        }
        let due = self.last_heard_ms.saturating_add(millis(HEARTBEAT));
        if now_ms >= due {
            self.ping(now_ms)
        } else {
            HeartbeatAction::Wait(Duration::from_millis(due - now_ms))
        }
    }

    /// A pong arrived; `true` when it answers the ping outstanding (so the socket is proven).
    pub fn on_pong(&mut self, nonce: u64, now_ms: u64) -> bool {
        self.on_frame(now_ms);
        let answers = self.awaiting.is_some_and(|(awaited, _)| awaited == nonce);
        if answers {
            self.awaiting = None;
        }
        answers
    }

    /// Any other frame arrived: the server is alive, so the next ping can wait.
    pub fn on_frame(&mut self, now_ms: u64) {
        self.last_heard_ms = now_ms;
    }

    fn ping(&mut self, now_ms: u64) -> HeartbeatAction {
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        self.awaiting = Some((nonce, now_ms));
        HeartbeatAction::Ping { nonce }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
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
    //! The browser half: one socket at a time, replaced after every drop, pinged as its
    //! [`Heartbeat`] says. Outgoing messages queue in `outbox` and go out on whichever socket is
    //! proven; every incoming message goes to `on_message`. A socket closed because its session
    //! ended is not replaced: the page goes to log in.

    use std::pin::pin;
    use std::rc::Rc;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use futures::channel::mpsc::UnboundedReceiver;
    use futures::future::{Either, select};
    use futures::{SinkExt, StreamExt};
    use gloo_net::websocket::{Message, WebSocketError, futures::WebSocket};
    use gloo_timers::future::sleep;
    use jarvis_types::protocol::{
        CLOSE_SESSION_ENDED, ClientMessage, PROTOCOL_VERSION, ServerMessage, WS_PATH,
    };
    use leptos::prelude::*;

    use super::{ConnectionState, Heartbeat, HeartbeatAction, backoff_delay};

    /// What the connection reports to its owner.
    pub type OnMessage = Rc<dyn Fn(ServerMessage)>;

    /// How one socket's life ended.
    enum Ended {
        /// It had been proven live; the next attempt starts the backoff afresh.
        AfterConnected,
        /// It never answered a ping.
        BeforeConnected,
        /// The server speaks another protocol version; retrying will not help.
        Outdated,
        /// The session ended (logged out elsewhere, revoked, expired); retrying will not help.
        SessionEnded,
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
                Ended::SessionEnded => {
                    // When this page ended the session itself (Log out), its own navigation is
                    // already under way and says so; give it the moment it needs to win.
                    sleep(std::time::Duration::from_millis(1500)).await;
                    let _ = window().location().set_href("/login?notice=session_ended");
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
        let mut heartbeat = Heartbeat::new();

        loop {
            if stopped.load(Ordering::Relaxed) {
                return ended(connected);
            }
            let wait = match heartbeat.next_action(now_ms()) {
                HeartbeatAction::Ping { nonce } => {
                    let ping = serde_json::to_string(&ClientMessage::Ping { nonce })
                        .expect("a ping always serialises");
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
            let outgoing =
                async move { if proven { queue.next().await } else { std::future::pending().await } };
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
                        Ok(ServerMessage::Hello { protocol_version })
                            if protocol_version != PROTOCOL_VERSION =>
                        {
                            return Ended::Outdated;
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
                Either::Left((Either::Left((Some(Ok(Message::Bytes(_))), _)), _)) => {
                    heartbeat.on_frame(now_ms())
                }
                Either::Left((Either::Left((Some(Err(WebSocketError::ConnectionClose(close))), _)), _))
                    if close.code == CLOSE_SESSION_ENDED =>
                {
                    return Ended::SessionEnded;
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

    const HEARTBEAT_MS: u64 = HEARTBEAT.as_millis() as u64;
    const PONG_TIMEOUT_MS: u64 = PONG_TIMEOUT.as_millis() as u64;

    /// Answers the outstanding ping at `now_ms`, as a server would.
    fn answer(heartbeat: &mut Heartbeat, nonce: u64, now_ms: u64) {
        assert!(heartbeat.on_pong(nonce, now_ms), "pong {nonce} answers the outstanding ping");
    }

    #[test]
    fn a_new_socket_is_pinged_at_once_to_prove_it() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(5_000), HeartbeatAction::Ping { nonce: 1 });
        assert!(heartbeat.on_pong(1, 5_010), "the first pong proves the socket");
    }

    #[test]
    fn after_a_pong_the_next_ping_waits_a_whole_heartbeat() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(0), HeartbeatAction::Ping { nonce: 1 });
        answer(&mut heartbeat, 1, 3);
        // The bug this guards against: the next ping went out as soon as the pong arrived.
        assert_eq!(heartbeat.next_action(3), HeartbeatAction::Wait(HEARTBEAT));
        assert_eq!(
            heartbeat.next_action(3 + HEARTBEAT_MS - 1),
            HeartbeatAction::Wait(Duration::from_millis(1))
        );
        assert_eq!(heartbeat.next_action(3 + HEARTBEAT_MS), HeartbeatAction::Ping { nonce: 2 });
    }

    #[test]
    fn an_idle_socket_is_pinged_once_per_heartbeat() {
        // Drive the schedule the way the connection task does, with a server that answers every
        // ping after 5 ms, over one idle minute.
        let mut heartbeat = Heartbeat::new();
        let mut now = 0;
        let mut pings = Vec::new();
        while now <= 60_000 {
            match heartbeat.next_action(now) {
                HeartbeatAction::Ping { nonce } => {
                    pings.push(now);
                    now += 5;
                    answer(&mut heartbeat, nonce, now);
                }
                HeartbeatAction::Wait(wait) => {
                    assert!(wait > Duration::ZERO, "a wait is never zero, so the task never spins");
                    now += u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
                }
                HeartbeatAction::Dead => panic!("an answered socket is never declared dead"),
            }
        }
        assert_eq!(pings, [0, 20_005, 40_010], "one ping at once, then one per 20 s of silence");
    }

    #[test]
    fn frames_from_the_server_postpone_the_next_ping() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(0), HeartbeatAction::Ping { nonce: 1 });
        answer(&mut heartbeat, 1, 0);
        heartbeat.on_frame(15_000);
        assert_eq!(heartbeat.next_action(HEARTBEAT_MS), HeartbeatAction::Wait(Duration::from_secs(15)));
        assert_eq!(heartbeat.next_action(15_000 + HEARTBEAT_MS), HeartbeatAction::Ping { nonce: 2 });
    }

    #[test]
    fn an_unanswered_ping_declares_the_socket_dead_after_the_pong_timeout() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(1_000), HeartbeatAction::Ping { nonce: 1 });
        assert_eq!(heartbeat.next_action(1_000), HeartbeatAction::Wait(PONG_TIMEOUT));
        assert_eq!(
            heartbeat.next_action(1_000 + PONG_TIMEOUT_MS - 1),
            HeartbeatAction::Wait(Duration::from_millis(1)),
            "no second ping while one is outstanding"
        );
        assert_eq!(heartbeat.next_action(1_000 + PONG_TIMEOUT_MS), HeartbeatAction::Dead);
    }

    #[test]
    fn a_proven_socket_that_stops_answering_is_declared_dead_too() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(0), HeartbeatAction::Ping { nonce: 1 });
        answer(&mut heartbeat, 1, 10);
        assert_eq!(heartbeat.next_action(10 + HEARTBEAT_MS), HeartbeatAction::Ping { nonce: 2 });
        assert_eq!(heartbeat.next_action(10 + HEARTBEAT_MS + PONG_TIMEOUT_MS), HeartbeatAction::Dead);
    }

    #[test]
    fn frames_streaming_in_keep_a_socket_alive_while_its_pong_is_due() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(0), HeartbeatAction::Ping { nonce: 1 });
        heartbeat.on_frame(8_000);
        assert_eq!(heartbeat.next_action(PONG_TIMEOUT_MS), HeartbeatAction::Wait(Duration::from_secs(8)));
        assert_eq!(heartbeat.next_action(8_000 + PONG_TIMEOUT_MS), HeartbeatAction::Dead);
    }

    #[test]
    fn a_pong_with_another_nonce_does_not_answer_the_ping() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(0), HeartbeatAction::Ping { nonce: 1 });
        assert!(!heartbeat.on_pong(7, 100));
        assert!(matches!(heartbeat.next_action(100), HeartbeatAction::Wait(_)), "still awaiting pong 1");
        assert!(heartbeat.on_pong(1, 200));
    }

    #[test]
    fn a_clock_that_steps_back_delays_the_ping_by_one_heartbeat_at_most() {
        let mut heartbeat = Heartbeat::new();
        assert_eq!(heartbeat.next_action(5_000_000), HeartbeatAction::Ping { nonce: 1 });
        answer(&mut heartbeat, 1, 5_000_000);
        // The clock is set an hour back: the interval restarts from the new "now".
        let an_hour_earlier = 5_000_000 - 3_600_000;
        assert_eq!(heartbeat.next_action(an_hour_earlier), HeartbeatAction::Wait(HEARTBEAT));
        assert_eq!(heartbeat.next_action(an_hour_earlier + HEARTBEAT_MS), HeartbeatAction::Ping { nonce: 2 });
    }
}
