//! The user's workspace as an MCP server: the document tools and the documents as resources, for
//! the user a personal access token belongs to. The HTTP edge (`/mcp` in the server crate)
//! verifies the token on every request and leaves the [`TokenOwner`] in the request; this handler
//! only ever acts for that owner, under row-level security, within the token's scope and the
//! user's plan. It keeps nothing between requests, so any instance answers any request.

pub mod plan;
pub mod resources;

use std::sync::Arc;

use jarvis_types::connections::TokenScope;
use rmcp::model::{
    CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, ErrorCode, Extensions,
    Implementation, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult,
    ServerCapabilities, ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use tracing::Instrument;
use uuid::Uuid;

use crate::agent::messages::ToolSpec;
use crate::agent::tools::{ToolContext, ToolRegistry};
use crate::billing::Billing;
use crate::connections::tokens::TokenOwner;
use crate::library::documents::{self, DocumentError, Sort};

/// What a read-only token may call.
pub const READ_TOOLS: [&str; 3] = ["list_documents", "read_document", "search_documents"];
/// What a read-and-write token may call besides.
pub const WRITE_TOOLS: [&str; 2] = ["save_document", "update_document"];

/// What an MCP client shows its model or its user about this server.
const INSTRUCTIONS: &str = "The user's Jarvis workspace: their library of documents (notes, drafts, code). \
Search or list documents to find one, read it for its text and version, and (with a read-and-write token) \
save new documents or update one by the version you read. Every document is also a resource, \
jarvis://documents/{id}.";

const STORE_FAILED: &str = "The document store failed; try again later.";

/// Finds the verified token owner in a request's extensions: the HTTP edge knows where it put it
/// (the backend knows no HTTP types).
pub type OwnerOf = fn(&Extensions) -> Option<TokenOwner>;

/// The MCP server of every user's workspace. Cheap to clone: one is made per request.
#[derive(Clone)]
pub struct WorkspaceServer {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    billing: Billing,
    /// Every tool `/mcp` offers; a read-only token is offered [`READ_TOOLS`] of them.
    tools: ToolRegistry,
    owner_of: OwnerOf,
}

impl WorkspaceServer {
    pub fn new(pool: PgPool, billing: Billing, owner_of: OwnerOf) -> Self {
        let mut all = ToolRegistry::default();
        documents::tools::register(&mut all, pool.clone(), Some(billing.clone()));
        let names: Vec<&str> = READ_TOOLS.iter().chain(WRITE_TOOLS.iter()).copied().collect();
        let tools = all.only(&names);
        Self { inner: Arc::new(Inner { pool, billing, tools, owner_of }) }
    }

    /// The verified owner of the request's token. Missing only when `/mcp` was mounted without
    /// its token check: a bug, refused rather than served for nobody.
    fn owner(&self, context: &RequestContext<RoleServer>) -> Result<TokenOwner, ErrorData> {
        (self.inner.owner_of)(&context.extensions).ok_or_else(|| {
            tracing::error!(
                "mcp.owner_missing: the request reached the MCP handler without a verified token"
            );
            ErrorData::internal_error("This request is not authorised.", None)
        })
    }

    /// Refuses the request when the user's plan pauses connected apps now.
    async fn check_plan(&self, user_id: Uuid) -> Result<Option<String>, ErrorData> {
        plan::refusal(&self.inner.billing, user_id).await.map_err(|error| {
            tracing::error!(error = %error, "mcp.plan_check_failed");
            ErrorData::internal_error("Jarvis cannot check your plan right now; try again shortly.", None)
        })
    }

    fn tool(&self, name: &str) -> Option<Tool> {
        self.inner.tools.specs().into_iter().find(|spec| spec.name == name).map(mcp_tool)
    }
}

/// Whether a token of `scope` may call the tool `name`.
pub fn allows(scope: TokenScope, name: &str) -> bool {
    READ_TOOLS.contains(&name) || (scope == TokenScope::Write && WRITE_TOOLS.contains(&name))
}

fn mcp_tool(spec: ToolSpec) -> Tool {
    let schema = match spec.input_schema {
        Value::Object(schema) => schema,
        _ => Map::new(),
    };
    let read_only = READ_TOOLS.contains(&spec.name.as_str());
    let annotations = ToolAnnotations::new().read_only(read_only);
    let annotations = if read_only { annotations } else { annotations.destructive(false) };
    Tool::new(spec.name, spec.description, schema).with_annotations(annotations)
}

fn span(owner: &TokenOwner, method: &'static str) -> tracing::Span {
    tracing::info_span!(
        "mcp.request",
        user.id = %owner.user_id,
        token.id = %owner.token_id,
        mcp.method = method,
        mcp.tool = tracing::field::Empty,
        mcp.outcome = tracing::field::Empty,
    )
}

/// Counts an answered request and notes how it went on its span.
fn answered(method: &'static str, outcome: &'static str) {
    tracing::Span::current().record("mcp.outcome", outcome);
    metrics::counter!("jarvis_mcp_requests_total", "method" => method, "outcome" => outcome).increment(1);
    tracing::info!(outcome, "mcp.answered");
}

fn store_error(error: DocumentError) -> ErrorData {
    match error {
        DocumentError::NotFound => ErrorData::resource_not_found("No document with that id.", None),
        DocumentError::Database(error) => {
            tracing::error!(error = %error, "mcp.documents_failed");
            ErrorData::internal_error(STORE_FAILED, None)
        }
        other => ErrorData::invalid_params(other.to_string(), None),
    }
}

fn refused(sentence: String) -> ErrorData {
    ErrorData::new(ErrorCode::INVALID_REQUEST, sentence, Some(json!({"reason": "plan_limit"})))
}

impl ServerHandler for WorkspaceServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("Jarvis", env!("CARGO_PKG_VERSION")).with_title("Jarvis"))
            .with_instructions(INSTRUCTIONS)
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tool(name)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let owner = self.owner(&context)?;
        let tools: Vec<Tool> = self
            .inner
            .tools
            .specs()
            .into_iter()
            .filter(|spec| allows(owner.scope, &spec.name))
            .map(mcp_tool)
            .collect();
        let _entered = span(&owner, "tools/list").entered();
        answered("tools/list", "ok");
        // Which tools depends on the token: no cache may hand one user's list to another.
        Ok(ListToolsResult::with_all_items(tools).with_cache_scope(CacheScope::Private))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let owner = self.owner(&context)?;
        let span = span(&owner, "tools/call");
        async move {
            let name = request.name.as_ref();
            tracing::Span::current().record("mcp.tool", name);
            if !self.inner.tools.contains(name) {
                answered("tools/call", "unknown_tool");
                return Err(ErrorData::invalid_params(format!("There is no tool named `{name}`."), None));
            }
            if !allows(owner.scope, name) {
                answered("tools/call", "read_only");
                return Ok(CallToolResult::error(vec![ContentBlock::text(
                    "This token is read-only: it can list, read and search documents. To save or change documents, \
                     create a read-and-write token in Settings → Connections.",
                )])
                .into());
            }
            if let Some(sentence) = self.check_plan(owner.user_id).await? {
                answered("tools/call", "plan_limit");
                return Ok(CallToolResult::error(vec![ContentBlock::text(sentence)]).into());
            }
            let input = Value::Object(request.arguments.unwrap_or_default());
            let result = self.inner.tools.call(ToolContext::for_connection(owner.user_id), name, input).await;
            Ok(match result {
                Ok(output) => {
                    answered("tools/call", "ok");
                    CallToolResult::success(vec![ContentBlock::text(output.content)])
                }
                Err(error) => {
                    answered("tools/call", "tool_error");
                    CallToolResult::error(vec![ContentBlock::text(error.0)])
                }
            }
            .into())
        }
        .instrument(span)
        .await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let owner = self.owner(&context)?;
        let span = span(&owner, "resources/list");
        async move {
            if let Some(sentence) = self.check_plan(owner.user_id).await? {
                answered("resources/list", "plan_limit");
                return Err(refused(sentence));
            }
            let cursor = request.and_then(|request| request.cursor);
            let offset = resources::offset(cursor.as_deref())
                .ok_or_else(|| ErrorData::invalid_params("That cursor is not one this server gave.", None))?;
            let (page, total) = documents::list(
                &self.inner.pool,
                owner.user_id,
                None,
                Sort::Title,
                resources::PAGE_SIZE,
                offset,
            )
            .await
            .map_err(store_error)?;
            let next = offset + i64::try_from(page.len()).unwrap_or(0);
            let mut result =
                ListResourcesResult::with_all_items(page.iter().map(resources::listed).collect())
                    .with_cache_scope(CacheScope::Private);
            result.next_cursor = (next < total && !page.is_empty()).then(|| next.to_string());
            answered("resources/list", "ok");
            Ok(result)
        }
        .instrument(span)
        .await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        self.owner(&context)?;
        Ok(ListResourceTemplatesResult::with_all_items(vec![resources::template()]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let owner = self.owner(&context)?;
        let span = span(&owner, "resources/read");
        async move {
            let Some(id) = resources::document_id(&request.uri) else {
                answered("resources/read", "not_found");
                return Err(ErrorData::resource_not_found(
                    "No such resource: documents are jarvis://documents/{id}.",
                    Some(json!({"uri": request.uri})),
                ));
            };
            if let Some(sentence) = self.check_plan(owner.user_id).await? {
                answered("resources/read", "plan_limit");
                return Err(refused(sentence));
            }
            match documents::read(&self.inner.pool, owner.user_id, id).await {
                Ok(document) => {
                    answered("resources/read", "ok");
                    let result = ReadResourceResult::new(vec![resources::contents(&document)]);
                    Ok(result.into())
                }
                Err(error) => {
                    answered("resources/read", "not_found");
                    Err(store_error(error))
                }
            }
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_token_may_call_only_the_reading_tools() {
        for name in READ_TOOLS {
            assert!(allows(TokenScope::Read, name) && allows(TokenScope::Write, name), "{name}");
        }
        for name in WRITE_TOOLS {
            assert!(!allows(TokenScope::Read, name) && allows(TokenScope::Write, name), "{name}");
        }
        assert!(!allows(TokenScope::Write, "get_current_time"), "only the document tools are offered");
    }

    #[test]
    fn tools_keep_their_schema_and_say_whether_they_only_read() {
        let spec = ToolSpec {
            name: "read_document".into(),
            description: "Reads.".into(),
            input_schema: json!({"type": "object", "properties": {"id": {"type": "string"}}}),
        };
        let tool = mcp_tool(spec);
        assert_eq!(tool.input_schema.get("type"), Some(&json!("object")));
        assert_eq!(tool.annotations.and_then(|a| a.read_only_hint), Some(true));
    }
}
