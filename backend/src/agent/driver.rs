//! Runs one turn: performs the state machine's effects against a model provider and the tool
//! registry, reports what happens to an observer (the socket, the store), and honours
//! cancellation at every await. Text streamed by an attempt that does not complete is handed
//! back so that a stopped or failed run keeps what the user already saw. Every request is made
//! valid by [`valid_history`] on its way out, and text is shown joined as [`ReplyText`] joins
//! it, so that a reload shows exactly what was streamed.

use std::collections::VecDeque;

use futures::future::BoxFuture;
use jarvis_types::documents::DocumentRef;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::messages::{Message, ReplyText, Usage};
use super::provider::{ModelDelta, ModelProvider, ModelRequest, ProviderError};
use super::tools::{ToolContext, ToolRegistry};
use super::turn::{Effect, Event, Outcome, Turn, TurnLimits};
use super::{history, valid_history};

/// Everything one run needs besides its collaborators.
#[derive(Debug, Clone)]
pub struct RunRequest {
    pub context: ToolContext,
    /// The model to use (the user's plan may name one); `None`: the provider's configured one.
    pub model: Option<String>,
    pub system: String,
    /// The conversation so far, ending with the user's new message.
    pub history: Vec<Message>,
    pub limits: TurnLimits,
    /// Tokens of history sent to the model at most; older exchanges are left out.
    pub context_budget_tokens: usize,
}

/// What the user sees happen, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum DriverEvent {
    Text(String),
    /// The model call failed and is being retried: text since the last completed model message
    /// is void.
    Retrying {
        attempt: u32,
        wait_ms: u64,
    },
    ToolCall {
        id: String,
        name: String,
        input: Value,
    },
    ToolResult {
        id: String,
        name: String,
        output: String,
        is_error: bool,
    },
    /// A tool saved a document (after its `ToolResult`).
    DocumentSaved(DocumentRef),
    /// A model call completed, using this much.
    Usage(Usage),
    /// The model call in progress has used this much so far.
    CallUsage(Usage),
}

/// Where a run reports to.
pub trait RunObserver: Send {
    fn on_event(&mut self, event: DriverEvent);
    /// Stores a message that became part of the conversation.
    fn persist<'a>(&'a mut self, message: &'a Message) -> BoxFuture<'a, Result<(), String>>;
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub outcome: Outcome,
    pub usage: Usage,
    /// The provider's error when the outcome is `Failed`.
    pub error: Option<ProviderError>,
    /// Text streamed by the model call that did not complete (stopped or failed), if any.
    pub unfinished_text: String,
}

/// The run's `agent.run` span is not entered on every poll of the run (a streaming reply polls
/// it once per delta, and entering a span costs a lock and a registry lookup each time): it is
/// the parent of the run's own log lines, current while a model call is set up (the provider
/// takes it for its log lines) and around tool calls and stores, which are few.
pub async fn run(
    provider: &dyn ModelProvider,
    tools: &ToolRegistry,
    request: RunRequest,
    cancel: CancellationToken,
    observer: &mut dyn RunObserver,
) -> RunSummary {
    let span = tracing::info_span!("agent.run", user.id = %request.context.user_id, run.id = request.context.run_id.map(tracing::field::display));
    let RunRequest { context, model, system, history: messages, limits, context_budget_tokens } = request;
    let mut turn = Turn::new(messages, limits);
    let mut effects: VecDeque<Effect> = turn.handle(Event::Started).into();
    let mut unfinished = String::new();
    let mut provider_error = None;
    let mut outcome = Outcome::Failed { message: "the run ended without an outcome".into() };
    // The reply's text as shown, up to the last completed model call, and since.
    let mut shown = ReplyText::new();

    while let Some(effect) = effects.pop_front() {
        match effect {
            Effect::CallModel { messages, longer } => {
                if longer {
                    // The last call was cut inside a tool call: what it streamed is void.
                    observer.on_event(DriverEvent::Retrying { attempt: 1, wait_ms: 0 });
                }
                let model_request = ModelRequest {
                    model: model.clone(),
                    system: system.clone(),
                    messages: valid_history::make_valid(
                        history::fit(&messages, context_budget_tokens).to_vec(),
                    ),
                    tools: tools.specs(),
                    largest_output: longer,
                };
                unfinished.clear();
                let before_call = shown.clone();
                let event = {
                    let mut on_delta = |delta: ModelDelta| match delta {
                        ModelDelta::Text(text) => {
                            unfinished.push_str(&text);
                            let text = shown.push_text(&text);
                            if !text.is_empty() {
                                observer.on_event(DriverEvent::Text(text));
                            }
                        }
                        ModelDelta::Retrying { attempt, wait_ms, .. } => {
                            unfinished.clear();
                            shown = before_call.clone();
                            observer.on_event(DriverEvent::Retrying { attempt, wait_ms });
                        }
                        ModelDelta::ToolUseStarted { .. } => shown.push_tool_call(),
                        ModelDelta::Usage(usage) => observer.on_event(DriverEvent::CallUsage(usage)),
                    };
                    let call = {
                        let _current = span.enter();
                        provider.complete(&model_request, &mut on_delta)
                    };
                    tokio::select! {
                        biased;
                        () = cancel.cancelled() => Event::Cancelled,
                        result = call => match result {
                            Ok(reply) => Event::ModelReplied(reply),
                            Err(error) => {
                                let message = error.to_string();
                                provider_error = Some(error);
                                Event::ModelFailed { message }
                            }
                        },
                    }
                };
                if let Event::ModelReplied(reply) = &event {
                    unfinished.clear();
                    if reply.truncated_tool_use {
                        shown = before_call;
                    }
                    observer.on_event(DriverEvent::Usage(reply.usage));
                }
                effects.extend(turn.handle(event));
            }
            Effect::RunTool { tool_use_id, name, input } => {
                observer.on_event(DriverEvent::ToolCall {
                    id: tool_use_id.clone(),
                    name: name.clone(),
                    input: input.clone(),
                });
                let output = tokio::select! {
                    biased;
                    () = cancel.cancelled() => {
                        effects.extend(turn.handle(Event::Cancelled));
                        continue;
                    }
                    output = tools.call(context, &name, input).instrument(span.clone()) => output,
                };
                let (text, is_error, saved) = match output {
                    Ok(output) => (output.content, false, output.saved),
                    Err(error) => (error.0, true, None),
                };
                observer.on_event(DriverEvent::ToolResult {
                    id: tool_use_id.clone(),
                    name,
                    output: text.clone(),
                    is_error,
                });
                if let Some(saved) = saved {
                    observer.on_event(DriverEvent::DocumentSaved(saved));
                }
                let output = if is_error { Err(text) } else { Ok(text) };
                effects.extend(turn.handle(Event::ToolFinished { tool_use_id, output }));
            }
            Effect::Persist(message) => {
                if let Err(error) = observer.persist(&message).instrument(span.clone()).await {
                    tracing::error!(parent: &span, %error, "agent.persist_failed");
                    effects.clear();
                    outcome = Outcome::Failed { message: "The conversation could not be saved.".into() };
                    break;
                }
            }
            Effect::Finish(finished) => outcome = finished,
        }
    }
    tracing::info!(parent: &span, outcome = ?outcome, tokens = turn.usage().total(), "agent.run_finished");
    RunSummary { outcome, usage: turn.usage(), error: provider_error, unfinished_text: unfinished }
}
