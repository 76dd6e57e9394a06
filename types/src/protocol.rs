//! The WebSocket protocol between the browser and `/ws`.
//!
//! Every frame is one JSON text message holding a [`ClientMessage`] or a [`ServerMessage`],
//! internally tagged by `"type"`. The server opens each connection with [`ServerMessage::Hello`]
//! carrying [`PROTOCOL_VERSION`]; a client that speaks another version reloads the page. A frame
//! that does not parse is answered with [`ServerMessage::Error`] and the connection stays open.

use serde::{Deserialize, Serialize};

/// Bumped whenever a message changes shape in a way an older peer cannot read.
pub const PROTOCOL_VERSION: u32 = 1;

/// The path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// What the browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A liveness probe; the server answers with [`ServerMessage::Pong`] carrying the same nonce.
    Ping { nonce: u64 },
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame of every connection.
    Hello { protocol_version: u32 },
    /// The answer to [`ClientMessage::Ping`].
    Pong { nonce: u64 },
    /// Something the client sent could not be handled. The connection stays open.
    Error { code: ErrorCode, message: String },
}

/// Stable, machine-readable error codes; the message beside them is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a JSON text message of a known type.
    BadMessage,
    /// The server failed; the details are in its log, never in the message.
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_messages_are_tagged_by_type_in_snake_case() {
        let json = serde_json::to_string(&ClientMessage::Ping { nonce: 7 }).unwrap();
        assert_eq!(json, r#"{"type":"ping","nonce":7}"#);
    }

    #[test]
    fn server_messages_round_trip_through_json() {
        for message in [
            ServerMessage::Hello { protocol_version: PROTOCOL_VERSION },
            ServerMessage::Pong { nonce: u64::MAX },
            ServerMessage::Error { code: ErrorCode::BadMessage, message: "nope".into() },
        ] {
            let json = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), message);
        }
    }

    #[test]
    fn an_unknown_client_message_type_is_rejected() {
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"launch_missiles"}"#).is_err());
    }
}
