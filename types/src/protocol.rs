//! The WebSocket protocol between the browser and `/ws`.
//!
//! Every frame is one JSON text message holding a [`ClientMessage`] or a [`ServerMessage`],
//! internally tagged by `"type"`. The server opens each connection with [`ServerMessage::Hello`]
//! carrying [`PROTOCOL_VERSION`]; a client that speaks another version reloads the page. A frame
//! that does not parse is answered with [`ServerMessage::Error`] and the connection stays open.

use serde::{Deserialize, Serialize};

use crate::documents::DocumentRef;
use crate::voice::Clip;

/// Bumped whenever a message changes shape in a way an older peer cannot read.
pub const PROTOCOL_VERSION: u32 = 6;

/// The path of the WebSocket endpoint.
pub const WS_PATH: &str = "/ws";

/// Frames larger than this are refused.
pub const MAX_FRAME_BYTES: usize = 256 * 1024;

/// The close code of a socket whose session ended (logged out, revoked, expired): reconnecting
/// will not help; the user must log in again.
pub const CLOSE_SESSION_ENDED: u16 = 4401;

/// The longest message a user may send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 32_000;

/// What the browser sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// A liveness probe; the server answers with [`ServerMessage::Pong`] carrying the same nonce.
    Ping { nonce: u64 },
    /// A new message from the user: starts a run. Without a conversation id, a new conversation.
    /// `client_message_id` is chosen by the client: sending the same one again (after a
    /// reconnect, not knowing whether the first arrived) resumes the run it started instead of
    /// starting another.
    Send { client_message_id: String, conversation_id: Option<String>, text: String },
    /// A new version of the user's message `message_id` in a conversation: stored beside it (same
    /// parent; the earlier one and what followed it are kept), shown instead of it, and answered by
    /// a new run. `client_message_id` as for `Send`.
    Edit { client_message_id: String, conversation_id: String, message_id: String, text: String },
    /// A new reply to the question that the reply `message_id` answers (or to the question
    /// `message_id` itself), shown beside the earlier replies, which are kept. `client_message_id`
    /// as for `Send`.
    Regenerate { client_message_id: String, conversation_id: String, message_id: String },
    /// Stops a run of this user's.
    Cancel { run_id: String },
    /// Sends every event of a run after `after_seq` (0: from the start), then the live ones.
    Resume { run_id: String, after_seq: u64 },
}

/// What the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// First frame of every connection.
    Hello { protocol_version: u32 },
    /// The answer to [`ClientMessage::Ping`].
    Pong { nonce: u64 },
    /// One event of a run; `seq` counts from 1 within the run, without gaps.
    Run { run_id: String, seq: u64, event: RunEvent },
    /// Something the client sent could not be handled. The connection stays open.
    Error { code: ErrorCode, message: String, retryable: bool },
    /// A message was refused because the user's plan or rate limit does not allow it now. Nothing
    /// was stored and nothing was sent to the model. `upgrade_url` points at the plans a user can
    /// move to; `retry_after_secs` says when the same plan allows the message again, if known.
    LimitReached { limit: Limit, message: String, upgrade_url: Option<String>, retry_after_secs: Option<u64> },
}

/// Which limit refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// The plan's messages per day (UTC).
    MessagesPerDay,
    /// The plan's tokens per calendar month (UTC).
    TokensPerMonth,
    /// The plan's messages per hour (a sliding hour, shared by every server instance).
    MessagesPerHour,
}

/// The events of one agent run, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEvent {
    Started {
        conversation_id: String,
        title: String,
        user_text: String,
        client_message_id: Option<String>,
        /// The stored question the run answers: a new one, or the one regenerated.
        #[serde(default)]
        user_message_id: Option<String>,
        /// The id the reply's first stored message has (a version of it can be picked by it).
        #[serde(default)]
        reply_id: Option<String>,
    },
    TextDelta {
        text: String,
    },
    /// The model call failed and is retried; text since the last tool activity is void.
    Retrying {
        attempt: u32,
        wait_ms: u64,
    },
    /// `input` is the tool's arguments as JSON text.
    ToolCall {
        id: String,
        name: String,
        input: String,
    },
    ToolResult {
        id: String,
        name: String,
        output: String,
        is_error: bool,
    },
    /// A tool saved a new document or a new version of one: the chat shows a card linking to
    /// it and the documents panel updates.
    DocumentSaved {
        document: DocumentRef,
    },
    /// A spoken clip of the reply, announced in `seq` order as soon as it is synthesised
    /// (usually while the text still streams), or marked failed.
    Clip {
        clip: Clip,
    },
    Usage {
        input_tokens: u64,
        output_tokens: u64,
        cache_read_tokens: u64,
        cache_write_tokens: u64,
    },
    /// `stop_reason`: how the run ended (`completed`, `cancelled`, `max_tokens`, `refusal`, …).
    Finished {
        status: RunStatus,
        stop_reason: String,
        error: Option<RunError>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Cancelled,
    Failed,
}

/// Why a run ended early: a stable code and a sentence for the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunError {
    pub code: String,
    pub message: String,
    /// Whether sending the message again may succeed.
    pub retryable: bool,
}

/// What a reply the model refused says, live and on reload.
pub const REFUSAL_NOTE: &str = "Jarvis declined to answer this. This exchange is left out of the conversation from now on, so you can go on with something else.";

/// What a reply says when a tool call's input (a long document, say) did not fit in one reply.
pub const TOOL_INPUT_TOO_LONG_NOTE: &str = "The document Jarvis was writing was too long to fit in one reply, so nothing was saved. Ask for it in parts, for example one section at a time.";

/// Stable, machine-readable error codes; the message beside them is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame was not a JSON text message of a known type.
    BadMessage,
    /// The message is empty or too long.
    InvalidMessage,
    /// The account's address must be verified before the agent can be used.
    EmailNotVerified,
    /// No such conversation or run (of this user's).
    NotFound,
    /// The conversation already has a run in progress.
    RunInProgress,
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
            ServerMessage::Error { code: ErrorCode::BadMessage, message: "nope".into(), retryable: false },
            ServerMessage::LimitReached {
                limit: Limit::MessagesPerHour,
                message: "Wait".into(),
                upgrade_url: Some("/pricing".into()),
                retry_after_secs: Some(60),
            },
        ] {
            let json = serde_json::to_string(&message).unwrap();
            assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), message);
        }
    }

    #[test]
    fn run_events_carry_their_sequence_and_kind() {
        let message = ServerMessage::Run {
            run_id: "r1".into(),
            seq: 3,
            event: RunEvent::TextDelta { text: "Hi".into() },
        };
        let json = serde_json::to_string(&message).unwrap();
        assert_eq!(json, r#"{"type":"run","run_id":"r1","seq":3,"event":{"kind":"text_delta","text":"Hi"}}"#);
        assert_eq!(serde_json::from_str::<ServerMessage>(&json).unwrap(), message);
    }

    #[test]
    fn edits_and_regenerations_are_client_messages_and_old_started_events_still_read() {
        let edit =
            r#"{"type":"edit","client_message_id":"c","conversation_id":"k","message_id":"m","text":"Hi"}"#;
        assert!(
            matches!(serde_json::from_str(edit).unwrap(), ClientMessage::Edit { message_id, .. } if message_id == "m")
        );
        let regenerate =
            r#"{"type":"regenerate","client_message_id":"c","conversation_id":"k","message_id":"m"}"#;
        assert!(matches!(serde_json::from_str(regenerate).unwrap(), ClientMessage::Regenerate { .. }));
        let send = r#"{"type":"send","client_message_id":"c","conversation_id":null,"text":"Hi"}"#;
        assert!(matches!(serde_json::from_str(send).unwrap(), ClientMessage::Send { .. }));
        let stored = r#"{"kind":"started","conversation_id":"k","title":"t","user_text":"Hi","client_message_id":null}"#;
        assert!(matches!(
            serde_json::from_str(stored).unwrap(),
            RunEvent::Started { user_message_id: None, reply_id: None, .. }
        ));
    }

    #[test]
    fn an_unknown_client_message_type_is_rejected() {
        assert!(serde_json::from_str::<ClientMessage>(r#"{"type":"launch_missiles"}"#).is_err());
    }
}
