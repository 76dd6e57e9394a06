//! MCP (the Model Context Protocol) both ways, on the official Rust SDK (`rmcp`) over Streamable
//! HTTP: the user's workspace as an MCP server at `/mcp` (authorised by personal access tokens),
//! and the user's remote MCP servers as a client, their tools joining the agent's.

pub mod client;
pub mod server;
