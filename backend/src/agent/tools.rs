//! The tools the agent may call. Each receives the verified user from the run's context, never
//! from the model: a tool's arguments can name what to do, not on whose behalf. A tool is its
//! input struct and one `async fn` ([`Tool`]); the registry turns the model's JSON into that
//! struct once, so every tool refuses bad arguments in the same words.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use jarvis_types::documents::DocumentRef;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use uuid::Uuid;

use super::messages::ToolSpec;
use crate::text;

/// On whose behalf a tool runs: set by the driver from the authenticated session, or by `/mcp`
/// from the verified personal access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolContext {
    pub user_id: Uuid,
    /// The run the call belongs to; `None` for a call from an MCP client (a connected app).
    pub run_id: Option<Uuid>,
}

impl ToolContext {
    /// A call the agent makes in one of the user's runs.
    pub fn for_run(user_id: Uuid, run_id: Uuid) -> Self {
        Self { user_id, run_id: Some(run_id) }
    }

    /// A call an MCP client makes with one of the user's tokens.
    pub fn for_connection(user_id: Uuid) -> Self {
        Self { user_id, run_id: None }
    }
}

/// A failed tool call, told to the model as an `is_error` result so it can recover.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ToolError(pub String);

/// What a tool call returns: the text the model reads, and what the user should see change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    pub content: String,
    pub saved: Option<DocumentRef>,
}

impl From<String> for ToolOutput {
    fn from(content: String) -> Self {
        Self { content, saved: None }
    }
}

/// A tool the model may call.
pub trait Tool: Send + Sync + 'static {
    /// What the model sends, parsed from its JSON by the registry before [`Tool::call`].
    type Args: DeserializeOwned + Send;

    /// The tool's name, what it does and the JSON schema of [`Tool::Args`], as the model is told.
    fn spec(&self) -> ToolSpec;

    fn call(
        &self,
        context: ToolContext,
        args: Self::Args,
    ) -> impl Future<Output = Result<ToolOutput, ToolError>> + Send;
}

/// A tool that takes its arguments as JSON: what the registry keeps. Every [`Tool`] is one; a
/// tool known only at run time (a connector's, whose schema comes from its server) implements it
/// directly.
pub trait DynamicTool: Send + Sync {
    fn spec(&self) -> ToolSpec;
    fn call_json(&self, context: ToolContext, input: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>>;
}

impl<T: Tool> DynamicTool for T {
    fn spec(&self) -> ToolSpec {
        Tool::spec(self)
    }

    fn call_json(&self, context: ToolContext, input: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let args = serde_json::from_value(input)
                .map_err(|error| ToolError(format!("Invalid arguments: {error}.")))?;
            self.call(context, args).await
        })
    }
}

/// The tools of a deployment, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn DynamicTool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl ToolRegistry {
    /// Every tool Jarvis ships.
    pub fn standard() -> Self {
        let mut registry = Self::default();
        registry.register(GetCurrentTime);
        registry
    }

    pub fn register(&mut self, tool: impl Tool) {
        self.tools.insert(Tool::spec(&tool).name, Arc::new(tool));
    }

    /// Adds a tool known only at run time; one of the same name is replaced.
    pub fn register_dynamic(&mut self, tool: Arc<dyn DynamicTool>) {
        self.tools.insert(tool.spec().name, tool);
    }

    /// These tools and `extra` (a run's connector tools): a cheap copy, the tools are shared.
    pub fn with(&self, extra: impl IntoIterator<Item = Arc<dyn DynamicTool>>) -> Self {
        let mut registry = self.clone();
        for tool in extra {
            registry.register_dynamic(tool);
        }
        registry
    }

    /// Only the tools named (those of them that exist).
    pub fn only(&self, names: &[&str]) -> Self {
        Self {
            tools: self
                .tools
                .iter()
                .filter(|(name, _)| names.contains(&name.as_str()))
                .map(|(name, tool)| (name.clone(), Arc::clone(tool)))
                .collect(),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tools.contains_key(name)
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.values().map(|tool| tool.spec()).collect()
    }

    /// Runs a tool by name; an unknown name is an error for the model, not a crash. Every NUL
    /// (U+0000) in the input's strings and keys becomes U+FFFD before the tool sees it, and in
    /// what the tool answers before it is stored: Postgres cannot keep a NUL, and a tool must
    /// never fail for one.
    pub async fn call(
        &self,
        context: ToolContext,
        name: &str,
        mut input: Value,
    ) -> Result<ToolOutput, ToolError> {
        if text::replace_nul_in_json(&mut input) {
            tracing::debug!(tool = %text::replace_nul(name), "tools.input_nul_replaced");
        }
        let result = match self.tools.get(name) {
            Some(tool) => tool.call_json(context, input).await,
            None => Err(ToolError(format!("There is no tool named `{}`.", text::replace_nul(name)))),
        };
        match result {
            Ok(mut output) => {
                text::replace_nul_in_string(&mut output.content);
                Ok(output)
            }
            Err(mut error) => {
                text::replace_nul_in_string(&mut error.0);
                Err(error)
            }
        }
    }
}

/// Tells the current date and time, in UTC or a fixed offset.
pub struct GetCurrentTime;

/// Other fields are ignored, as they always were.
#[derive(Deserialize)]
pub struct TimeArgs {
    #[serde(default)]
    utc_offset: Option<String>,
}

impl Tool for GetCurrentTime {
    type Args = TimeArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "get_current_time".into(),
            description:
                "Returns the current date and time (ISO 8601). Optionally at a UTC offset such as +02:00."
                    .into(),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "utc_offset": { "type": "string", "description": "An offset like +02:00 or -05:30; UTC when omitted." }
                },
                "additionalProperties": false
            }),
        }
    }

    async fn call(&self, _context: ToolContext, args: TimeArgs) -> Result<ToolOutput, ToolError> {
        let now = chrono::Utc::now();
        match args.utc_offset {
            None => Ok(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into()),
            Some(offset) => {
                let parsed: chrono::FixedOffset = offset
                    .parse()
                    .map_err(|_| ToolError(format!("`{offset}` is not a UTC offset like +02:00.")))?;
                Ok(now.with_timezone(&parsed).to_rfc3339_opts(chrono::SecondsFormat::Secs, false).into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> ToolContext {
        ToolContext::for_run(Uuid::new_v4(), Uuid::new_v4())
    }

    #[tokio::test]
    async fn the_time_tool_answers_in_utc_or_at_an_offset() {
        let registry = ToolRegistry::standard();
        let utc = registry.call(context(), "get_current_time", json!({})).await.unwrap().content;
        assert!(utc.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(&utc).is_ok(), "{utc}");
        let shifted = registry
            .call(context(), "get_current_time", json!({"utc_offset": "+02:00"}))
            .await
            .unwrap()
            .content;
        assert!(shifted.ends_with("+02:00"), "{shifted}");
    }

    #[tokio::test]
    async fn bad_arguments_and_unknown_tools_are_errors_for_the_model() {
        let registry = ToolRegistry::standard();
        let bad = registry.call(context(), "get_current_time", json!({"utc_offset": "Mars"})).await;
        assert_eq!(bad, Err(ToolError("`Mars` is not a UTC offset like +02:00.".into())));
        let unknown = registry.call(context(), "rm_rf", json!({})).await;
        assert_eq!(unknown, Err(ToolError("There is no tool named `rm_rf`.".into())));
    }

    #[tokio::test]
    async fn arguments_of_the_wrong_shape_are_refused_in_one_sentence_before_the_tool_runs() {
        let registry = ToolRegistry::standard();
        let wrong = registry.call(context(), "get_current_time", json!({"utc_offset": 2})).await;
        assert_eq!(
            wrong,
            Err(ToolError("Invalid arguments: invalid type: integer `2`, expected a string.".into()))
        );
        let extra = registry.call(context(), "get_current_time", json!({"timezone": "UTC"})).await.unwrap();
        assert!(extra.content.ends_with('Z'), "unknown fields are ignored by this tool: {extra:?}");
    }

    /// Answers with the `content` it received, a NUL of its own, then its whole input as JSON.
    struct Echo;

    impl Tool for Echo {
        type Args = Value;

        fn spec(&self) -> ToolSpec {
            ToolSpec { name: "echo".into(), description: "Echoes.".into(), input_schema: json!({}) }
        }

        async fn call(&self, _context: ToolContext, input: Value) -> Result<ToolOutput, ToolError> {
            if input.get("fail").is_some() {
                return Err(ToolError(format!("failed on {input}\0")));
            }
            let content = format!("{}\0{input}", input["content"].as_str().unwrap_or_default());
            Ok(ToolOutput { content, saved: None })
        }
    }

    #[tokio::test]
    async fn nul_in_a_tool_input_or_output_becomes_the_replacement_character() {
        let mut registry = ToolRegistry::standard();
        registry.register(Echo);
        let output = registry
            .call(context(), "echo", json!({"content": "a\0b", "nested": {"k\0": ["\0"]}}))
            .await
            .unwrap()
            .content;
        assert!(!output.contains('\0'), "{output:?}");
        assert!(output.starts_with("a\u{FFFD}b\u{FFFD}"), "{output:?}");
        assert!(
            output.contains("\"k\u{FFFD}\":[\"\u{FFFD}\"]"),
            "the tool saw keys and nested strings replaced: {output:?}"
        );

        let Err(ToolError(failure)) = registry.call(context(), "echo", json!({"fail": "\0"})).await else {
            panic!("the tool fails")
        };
        assert!(!failure.contains('\0') && failure.ends_with('\u{FFFD}'), "{failure:?}");

        let unknown = registry.call(context(), "rm\0rf", json!({})).await;
        assert_eq!(unknown, Err(ToolError("There is no tool named `rm\u{FFFD}rf`.".into())));
    }
}
