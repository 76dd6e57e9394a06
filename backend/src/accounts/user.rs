//! Who a request acts for.

use uuid::Uuid;

/// Who is asking, as proven by a valid access token of a live session. Handlers, the WebSocket
/// and server functions all get it from the one session layer; nothing else creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentUser {
    pub user_id: Uuid,
    pub session_id: Uuid,
}
