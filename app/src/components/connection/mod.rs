//! The app's live connection to `/ws`: a badge that shows its state ([`status`]), the heartbeat
//! schedule ([`heartbeat`]), the reconnect policy ([`reconnect`]: capped, jittered exponential
//! backoff, or the login page once the session ended), all pure; and, in the browser only, the
//! task that carries them out on a real socket ([`client`]).

#[cfg(feature = "hydrate")]
pub mod client;
pub mod heartbeat;
pub mod reconnect;
pub mod status;

pub use heartbeat::{HEARTBEAT, Heartbeat, HeartbeatAction, PONG_TIMEOUT};
pub use reconnect::{BACKOFF_BASE, BACKOFF_CAP, ReconnectStep, Reconnection, SocketEnd, backoff_delay};
pub use status::{ConnectionState, ConnectionStatus};
