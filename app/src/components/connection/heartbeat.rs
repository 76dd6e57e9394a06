//! When one socket is pinged: a pure [`Heartbeat`] (one ping to prove a new socket, then one
//! after each [`HEARTBEAT`] of silence, and a dead socket after [`PONG_TIMEOUT`] without an
//! answer), decided from plain milliseconds so it is tested without a browser.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
