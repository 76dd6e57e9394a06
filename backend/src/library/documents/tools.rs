//! The agent's document tools. Each acts for the user of the run (from the session, carried in
//! the tool context), never for anyone the model names. Each is its arguments (unknown fields
//! refused) and one `async fn`; every failure is a clear sentence the model can act on.

use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use super::error::DocumentError;
use super::model::{Author, Document, Edit, Kind, NewDocument, Sort};
use super::store;
use crate::agent::messages::ToolSpec;
use crate::agent::tools::{Tool, ToolContext, ToolError, ToolOutput, ToolRegistry};
use crate::billing::Billing;
use jarvis_types::documents::DocumentRef;

/// Registers the document tools. With `billing`, a new document, and a new version of one, must
/// fit in the storage the user's plan has left.
pub fn register(registry: &mut ToolRegistry, pool: PgPool, billing: Option<Billing>) {
    registry.register(SaveDocument(pool.clone(), billing.clone()));
    registry.register(ListDocuments(pool.clone()));
    registry.register(ReadDocument(pool.clone()));
    registry.register(SearchDocuments(pool.clone()));
    registry.register(UpdateDocument(pool, billing));
}

/// The bytes the user's plan has left (`None`: no limit, or no billing), for a tool.
async fn room(billing: Option<&Billing>, user_id: uuid::Uuid) -> Result<Option<u64>, ToolError> {
    let Some(billing) = billing else { return Ok(None) };
    billing.storage_left(user_id).await.map_err(|error| {
        tracing::error!(%error, "documents.storage_check_failed");
        ToolError("The document store failed; try again later.".into())
    })
}

/// Who wrote a version: the agent in a run, or the user's connected app (an MCP client).
fn author(context: ToolContext) -> Author {
    match context.run_id {
        Some(run_id) => Author::Agent { run_id },
        None => Author::Connection,
    }
}

fn document_id(raw: &str) -> Result<Uuid, ToolError> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        ToolError(format!("`{raw}` is not a document id; ids come from list_documents or search_documents."))
    })
}

fn tool_error(error: DocumentError) -> ToolError {
    match error {
        DocumentError::Database(error) => {
            tracing::error!(%error, "documents.tool_failed");
            ToolError("The document store failed; try again later.".into())
        }
        other => ToolError(other.to_string()),
    }
}

fn reference(document: &Document, created: bool) -> DocumentRef {
    DocumentRef {
        id: document.id.to_string(),
        title: document.title.clone(),
        kind: document.kind.clone(),
        version: document.version,
        created,
    }
}

fn kind_of(raw: &str) -> Result<Kind, ToolError> {
    Kind::parse(raw).ok_or_else(|| {
        ToolError(format!("`{raw}` is not a kind; use markdown, text, code, html, json or csv."))
    })
}

pub struct SaveDocument(PgPool, Option<Billing>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveArgs {
    title: String,
    kind: String,
    #[serde(default)]
    language: Option<String>,
    content: String,
}

impl Tool for SaveDocument {
    type Args = SaveArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "save_document".into(),
            description: "Saves a new document in the user's workspace and returns its id and version. Use kind `code` with a `language` for source code.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "A short, human title."},
                    "kind": {"type": "string", "enum": Kind::names()},
                    "language": {"type": "string", "description": "For code: the programming language, e.g. rust or python."},
                    "content": {"type": "string"}
                },
                "required": ["title", "kind", "content"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, context: ToolContext, args: SaveArgs) -> Result<ToolOutput, ToolError> {
        let kind = kind_of(&args.kind)?;
        if kind == Kind::Code && args.language.as_deref().is_none_or(|l| l.trim().is_empty()) {
            return Err(ToolError("Code documents need a `language`.".into()));
        }
        if let Some(left) = room(self.1.as_ref(), context.user_id).await?
            && args.content.len() as u64 > left
        {
            return Err(ToolError(format!(
                "The user's storage is full: their plan has {left} bytes left and this document needs {}. Tell them; they can delete documents or files, or upgrade their plan.",
                args.content.len()
            )));
        }
        let new = NewDocument { title: args.title, kind, language: args.language, content: args.content };
        let document =
            store::create(&self.0, context.user_id, new, author(context)).await.map_err(tool_error)?;
        Ok(ToolOutput {
            content: json!({"id": document.id, "title": document.title, "filename": document.filename, "version": document.version}).to_string(),
            saved: Some(reference(&document, true)),
        })
    }
}

pub struct ListDocuments(PgPool);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    sort: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
}

impl Tool for ListDocuments {
    type Args = ListArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "list_documents".into(),
            description: "Lists the user's documents (id, title, kind, version), newest first unless sorted otherwise, a page at a time.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": Kind::names()},
                    "sort": {"type": "string", "enum": ["updated", "title", "created"]},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 100},
                    "offset": {"type": "integer", "minimum": 0}
                },
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, context: ToolContext, args: ListArgs) -> Result<ToolOutput, ToolError> {
        let kind = args.kind.as_deref().map(kind_of).transpose()?;
        let sort = args
            .sort
            .as_deref()
            .map(|name| {
                Sort::parse(name).ok_or_else(|| {
                    ToolError(format!("`{name}` is not a sort order; use updated, title or created."))
                })
            })
            .transpose()?
            .unwrap_or_default();
        let limit = args.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(ToolError("`limit` must be between 1 and 100.".into()));
        }
        let offset = args.offset.unwrap_or(0).max(0);
        let (documents, total) =
            store::list(&self.0, context.user_id, kind, sort, limit, offset).await.map_err(tool_error)?;
        let items: Vec<Value> = documents
            .iter()
            .map(|d| json!({"id": d.id, "title": d.title, "kind": d.kind, "language": d.language, "version": d.version, "size_bytes": d.size_bytes, "updated_at": d.updated_at}))
            .collect();
        Ok(json!({"documents": items, "total": total, "offset": offset, "next_offset": (offset + limit < total).then_some(offset + limit)}).to_string().into())
    }
}

pub struct ReadDocument(PgPool);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    id: String,
}

impl Tool for ReadDocument {
    type Args = ReadArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "read_document".into(),
            description: "Reads a document: its content and its current version (needed to update it)."
                .into(),
            input_schema: json!({
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "required": ["id"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, context: ToolContext, args: ReadArgs) -> Result<ToolOutput, ToolError> {
        let document =
            store::read(&self.0, context.user_id, document_id(&args.id)?).await.map_err(tool_error)?;
        Ok(json!({"id": document.id, "title": document.title, "kind": document.kind, "language": document.language, "version": document.version, "content": document.content}).to_string().into())
    }
}

pub struct SearchDocuments(PgPool);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    query: String,
    #[serde(default)]
    limit: Option<i64>,
}

impl Tool for SearchDocuments {
    type Args = SearchArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "search_documents".into(),
            description: "Searches the user's documents in full text; returns the best matches with a snippet each (matches between « and »).".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to find; \"quoted phrases\" and -exclusions work."},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 50}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, context: ToolContext, args: SearchArgs) -> Result<ToolOutput, ToolError> {
        let hits = store::search(&self.0, context.user_id, &args.query, args.limit.unwrap_or(10))
            .await
            .map_err(tool_error)?;
        let items: Vec<Value> = hits
            .iter()
            .map(|h| json!({"id": h.document.id, "title": h.document.title, "kind": h.document.kind, "version": h.document.version, "snippet": h.snippet}))
            .collect();
        Ok(json!({"results": items}).to_string().into())
    }
}

pub struct UpdateDocument(PgPool, Option<Billing>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateArgs {
    id: String,
    /// The version the change is based on, as read_document returned it.
    version: i32,
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    find: Option<String>,
    #[serde(default)]
    replace: Option<String>,
}

impl Tool for UpdateDocument {
    type Args = UpdateArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "update_document".into(),
            description: "Changes a document, as a new version: either the whole `content`, or one `find`/`replace` edit (the found text must occur exactly once). Give the `version` you read; if the document changed since (the user may have edited it), the update is refused and you must read it again.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "version": {"type": "integer"},
                    "content": {"type": "string"},
                    "find": {"type": "string"},
                    "replace": {"type": "string"}
                },
                "required": ["id", "version"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, context: ToolContext, args: UpdateArgs) -> Result<ToolOutput, ToolError> {
        let edit = match (args.content, args.find, args.replace) {
            (Some(content), None, None) => Edit::Replace(content),
            (None, Some(find), Some(replace)) => Edit::FindReplace { find, replace },
            _ => return Err(ToolError("Give either `content`, or both `find` and `replace`.".into())),
        };
        let room = room(self.1.as_ref(), context.user_id).await?;
        let document = store::update(
            &self.0,
            context.user_id,
            document_id(&args.id)?,
            args.version,
            edit,
            author(context),
            room,
        )
        .await
        .map_err(tool_error)?;
        Ok(ToolOutput {
            content: json!({"id": document.id, "title": document.title, "version": document.version})
                .to_string(),
            saved: Some(reference(&document, false)),
        })
    }
}
