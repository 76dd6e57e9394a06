//! The agent's attachment tool: `save_attachment_to_library` copies one of the user's
//! attachments into their library. It acts for the user of the run (from the session, carried in
//! the tool context), never for anyone the model names; an id that is not the user's is "not
//! found".

use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::{AttachmentError, Attachments};
use crate::agent::messages::ToolSpec;
use crate::agent::tools::{Tool, ToolContext, ToolError, ToolOutput, ToolRegistry};
use crate::library::files::Uploaded;
use crate::{ErrorKind, Kinded};

/// Registers the attachment tool.
pub fn register(registry: &mut ToolRegistry, attachments: Attachments) {
    registry.register(SaveAttachmentToLibrary(attachments));
}

pub struct SaveAttachmentToLibrary(Attachments);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaveArgs {
    attachment_id: String,
    #[serde(default)]
    filename: Option<String>,
}

impl Tool for SaveAttachmentToLibrary {
    type Args = SaveArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "save_attachment_to_library".into(),
            description: "Saves a file the user attached to a message (an image, a PDF or a text file) into their library, where it stays after the conversation. A text file becomes a document you can read and edit; anything else a file. Attachment ids are shown with each attached file.".into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "attachment_id": {"type": "string", "description": "The id of the attachment."},
                    "filename": {"type": "string", "description": "A name for the copy; the attachment's own name when omitted."}
                },
                "required": ["attachment_id"],
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, context: ToolContext, args: SaveArgs) -> Result<ToolOutput, ToolError> {
        let id = Uuid::parse_str(args.attachment_id.trim())
            .map_err(|_| ToolError(format!("`{}` is not an attachment id.", args.attachment_id)))?;
        let uploaded = self
            .0
            .save_to_library(context.user_id, id, args.filename.as_deref())
            .await
            .map_err(tool_error)?;
        let content = match uploaded {
            Uploaded::Document(document) => json!({
                "saved_as": "document", "id": document.id, "title": document.title,
                "filename": document.filename, "version": document.version
            }),
            Uploaded::File(file) => json!({
                "saved_as": "file", "id": file.id, "filename": file.filename,
                "content_type": file.content_type, "size_bytes": file.size_bytes
            }),
        };
        Ok(content.to_string().into())
    }
}

fn tool_error(error: AttachmentError) -> ToolError {
    match error.kind() {
        ErrorKind::Internal | ErrorKind::Unavailable => {
            tracing::error!(error = %crate::error::with_causes(&error), "attachments.tool_failed");
            ToolError("The library failed to save the attachment; try again later.".into())
        }
        _ => ToolError(error.to_string()),
    }
}
