//! Settings → Connections, stored: personal access tokens (MCP clients reach the user's
//! workspace at `/mcp` with one) and the remote MCP servers whose tools join the agent's
//! ("connectors", their tokens encrypted at rest). Every query runs as the user under
//! row-level security; only a presented token is looked up before the user is known.

pub mod cipher;
pub mod connectors;
pub mod error;
pub mod tokens;

use sqlx::PgPool;

pub use cipher::TokenCipher;
pub use connectors::Connectors;
pub use error::ConnectionError;
pub use tokens::AccessTokens;

/// Both halves of the user's connections.
#[derive(Clone)]
pub struct Connections {
    pub tokens: AccessTokens,
    pub connectors: Connectors,
}

impl Connections {
    pub fn new(pool: PgPool, cipher: TokenCipher) -> Self {
        Self { tokens: AccessTokens::new(pool.clone()), connectors: Connectors::new(pool, cipher) }
    }
}
