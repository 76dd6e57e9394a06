//! Executes one run on this instance: drives the agent, emits every event to the run's live log
//! (which feeds this instance's followers and the journal), keeps the messages, and ends the run
//! the same clean way whatever stops it — the user, a deploy past its grace period, a database
//! away for too long: a partial reply keeps what was shown, usage is recorded, `Finished` is
//! stored before the run is closed.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use jarvis_types::protocol::{REFUSAL_NOTE, RunError, RunEvent, RunStatus, TOOL_INPUT_TOO_LONG_NOTE};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::live::{LiveRun, StopReason};
use super::shared::Shared;
use super::status::RunOutcome;
use super::store;
use crate::agent::driver::{self, RunObserver, RunRequest};
use crate::agent::messages::{ContentBlock, Message, Role, Usage};
use crate::agent::provider::ProviderError;
use crate::agent::tools::ToolContext;
use crate::agent::turn::{Outcome, TurnLimits};
use crate::billing::Entitlement;
use crate::models::Model;
use crate::voice::Speaker;

const SYSTEM_PROMPT: &str = "You are Jarvis, a capable and concise personal assistant in the user's browser. \
Answer in Markdown. Use tools when they help, and say plainly when you cannot do something. \
When an answer rests on web pages you searched or fetched, cite their URLs as Markdown links.";

/// How long a write that must not be lost (a message, the run's end) is retried while the
/// database is away.
const STORE_PATIENCE: Duration = Duration::from_secs(120);

/// Everything a run starts from.
pub(super) struct RunStart {
    pub user_id: Uuid,
    pub new_run: store::NewRun,
    pub text: String,
    pub client_message_id: Option<String>,
    pub entitlement: Entitlement,
    /// The model answering.
    pub model: Arc<Model>,
}

pub(super) async fn execute(inner: Arc<Shared>, run: Arc<LiveRun>, start: RunStart) {
    let RunStart { user_id, mut new_run, text, client_message_id, entitlement, model } = start;
    let run_id = new_run.run_id;
    run.emit(
        &inner.journal,
        RunEvent::Started {
            conversation_id: new_run.conversation_id.to_string(),
            title: new_run.title.clone(),
            user_text: text,
            client_message_id,
            user_message_id: Some(new_run.question_id.to_string()),
            reply_id: Some(new_run.reply_id.to_string()),
            attachments: std::mem::take(&mut new_run.attachments),
            model: Some(model.id().to_owned()),
        },
    );

    let mut history = std::mem::take(&mut new_run.history);
    // The attachments of the history become the blocks the model reads (their bytes), for this
    // run only: what is stored keeps referring to them.
    let resolved = inner.attachments.resolve(user_id, &mut history).await;
    if let Err(error) = &resolved {
        tracing::error!(%error, run.id = %run_id, "chat.attachments_unresolved");
    }
    // Clips come from the speaker's own tasks; a pump hands them to the run in order.
    let (clips, mut clip_events) = mpsc::unbounded_channel::<RunEvent>();
    let pump = tokio::spawn({
        let run = Arc::clone(&run);
        let journal = inner.journal.clone();
        async move {
            while let Some(event) = clip_events.recv().await {
                run.emit(&journal, event);
            }
        }
    });
    // Spoken replies only on plans that include voice.
    let speaker = match &inner.voice {
        Some(voice) if entitlement.voice => voice.speaker(user_id, run_id, clips.clone()).await,
        _ => None,
    };
    drop(clips);
    let mut observer = Observer {
        inner: Arc::clone(&inner),
        run: Arc::clone(&run),
        user_id,
        conversation_id: new_run.conversation_id,
        speaker,
        completed_usage: Usage::default(),
        reply_id: Some(new_run.reply_id),
    };
    let summary = if history.is_empty() || resolved.is_err() {
        None
    } else {
        let request = RunRequest {
            context: ToolContext::for_run(user_id, run_id),
            model: Some(model.spec.model.clone()),
            system: format!("{SYSTEM_PROMPT}\nThe user's name is {}.", new_run.display_name),
            history,
            // The run's budget never exceeds what the plan has left this month.
            limits: TurnLimits {
                token_budget: new_run.tokens_left.map_or(inner.settings.limits.token_budget, |left| {
                    left.min(inner.settings.limits.token_budget)
                }),
                ..inner.settings.limits
            },
            context_budget_tokens: context_budget(inner.settings.context_budget_tokens, &model),
        };
        // The user's own MCP servers' tools, as last fetched: no request to them before the run
        // (and no query at all for a user who has none switched on).
        let tools = match &inner.connector_tools {
            Some(connector_tools) if new_run.has_connectors => {
                inner.tools.with(connector_tools.for_run(user_id).await)
            }
            _ => inner.tools.clone(),
        };
        Some(driver::run(model.provider.as_ref(), &tools, request, run.cancel_token(), &mut observer).await)
    };

    if run.stop_reason() == Some(StopReason::TakenOver) {
        // Another instance has ended this run already (this one had lost its lease).
        if let Some(speaker) = observer.speaker.take() {
            speaker.abort();
        }
        pump.abort();
        run.abandon();
        tracing::warn!(run.id = %run_id, "chat.run_taken_over");
        inner.live.finished(run_id);
        return;
    }

    let ending = match &summary {
        None if resolved.is_err() => Ending {
            status: RunStatus::Failed,
            error: Some(run_error(
                "attachments_unavailable",
                "The attachments of this conversation could not be read just now. Try again in a moment.",
                true,
            )),
            outcome: RunOutcome::Failed,
            usage: Usage::default(),
            unfinished: String::new(),
        },
        None => Ending {
            status: RunStatus::Failed,
            error: Some(run_error("internal", "The conversation could not be loaded.", true)),
            outcome: RunOutcome::Failed,
            usage: Usage::default(),
            unfinished: String::new(),
        },
        Some(summary) => {
            let (status, error, outcome) =
                describe(&summary.outcome, summary.error.as_ref(), run.stop_reason());
            Ending {
                status,
                error,
                outcome,
                usage: summary.usage,
                unfinished: summary.unfinished_text.clone(),
            }
        }
    };
    if !ending.unfinished.is_empty() && ending.status != RunStatus::Completed {
        let partial = Message {
            role: Role::Assistant,
            content: vec![ContentBlock::Text { text: ending.unfinished.clone() }],
        };
        let id = observer.next_message_id();
        if let Err(error) = retrying("chat.partial_save", crate::db::is_transient, || {
            store::append_message(&inner.pool, id, user_id, new_run.conversation_id, run_id, &partial, true)
        })
        .await
        {
            tracing::error!(%error, "chat.partial_save_failed");
        }
    }
    // Every clip of the reply is announced before the run ends (a stopped run's are dropped).
    if let Some(speaker) = observer.speaker.take() {
        if ending.status == RunStatus::Completed { speaker.finish().await } else { speaker.abort() }
    }
    drop(observer);
    if tokio::time::timeout(Duration::from_secs(5), pump).await.is_err() {
        tracing::warn!("chat.clip_pump_stuck");
    }
    let usage = ending.usage;
    inner.journal.record_usage(&run, usage);
    run.emit(
        &inner.journal,
        RunEvent::Usage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_input_tokens,
            cache_write_tokens: usage.cache_creation_input_tokens,
        },
    );
    // Metered before the run is reported finished, so the usage is there once it is.
    if let Err(error) = retrying(
        "chat.usage_record",
        |_| true,
        || inner.billing.record_usage(user_id, run_id, model.id(), &usage),
    )
    .await
    {
        tracing::error!(%error, "chat.usage_record_failed");
    }
    run.emit(
        &inner.journal,
        RunEvent::Finished {
            status: ending.status,
            stop_reason: ending.outcome.as_str().to_owned(),
            error: ending.error,
        },
    );
    // The journal closes the run in the commit that stores `Finished`, so a follower elsewhere
    // that sees the run closed has every event to read. While the database is away the journal
    // keeps trying; the run stays this instance's until then.
    inner.journal.hurry();
    if !run.flushed(STORE_PATIENCE).await {
        tracing::error!(run.id = %run_id, "chat.run_end_not_stored_yet");
    }
    inner.live.finished(run_id);
}

struct Ending {
    status: RunStatus,
    error: Option<RunError>,
    outcome: RunOutcome,
    usage: Usage,
    unfinished: String,
}

/// History sent per call at most: the configured budget, within the model's window less its
/// largest reply.
fn context_budget(configured: usize, model: &Model) -> usize {
    let window = model.spec.context_window;
    let room = window.saturating_sub(u64::from(model.spec.max_output_tokens)).max(window / 2);
    configured.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Retries a database write while the database is away, for up to [`STORE_PATIENCE`]; an error
/// that `is_transient` says will not go away is returned at once.
async fn retrying<T, E, F, Fut>(
    what: &'static str,
    is_transient: fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    E: std::fmt::Display,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = tokio::time::Instant::now() + STORE_PATIENCE;
    let mut wait = Duration::from_millis(100);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if is_transient(&error) && tokio::time::Instant::now() + wait < deadline => {
                tracing::warn!(%error, what, "chat.store_retry");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_secs(2));
            }
            Err(error) => return Err(error),
        }
    }
}

fn run_error(code: &str, message: &str, retryable: bool) -> RunError {
    RunError { code: code.into(), message: message.into(), retryable }
}

/// How an outcome is told to the user and recorded.
fn describe(
    outcome: &Outcome,
    error: Option<&ProviderError>,
    stopped: Option<StopReason>,
) -> (RunStatus, Option<RunError>, RunOutcome) {
    match outcome {
        Outcome::Completed => (RunStatus::Completed, None, RunOutcome::Completed),
        Outcome::Cancelled => match stopped {
            Some(StopReason::Shutdown) => (
                RunStatus::Failed,
                Some(run_error(
                    "interrupted",
                    "Jarvis was restarted while answering. What it had written is kept; send your message again to continue.",
                    true,
                )),
                RunOutcome::Interrupted,
            ),
            Some(StopReason::StorageUnavailable) => (
                RunStatus::Failed,
                Some(run_error(
                    "unavailable",
                    "Jarvis could not save this reply, so it stopped. What it had written is kept; try again in a moment.",
                    true,
                )),
                RunOutcome::Unavailable,
            ),
            _ => (RunStatus::Cancelled, None, RunOutcome::Cancelled),
        },
        Outcome::MaxTokens => (
            RunStatus::Completed,
            Some(run_error("max_tokens", "The reply reached its length limit and was cut short.", false)),
            RunOutcome::MaxTokens,
        ),
        Outcome::Refused => {
            (RunStatus::Completed, Some(run_error("refusal", REFUSAL_NOTE, false)), RunOutcome::Refusal)
        }
        Outcome::ToolInputTooLong => (
            RunStatus::Completed,
            Some(run_error("tool_input_too_long", TOOL_INPUT_TOO_LONG_NOTE, false)),
            RunOutcome::ToolInputTooLong,
        ),
        Outcome::ContextWindowExceeded => (
            RunStatus::Failed,
            Some(run_error(
                "context_window_exceeded",
                "This conversation is too long for the model. Start a new one.",
                false,
            )),
            RunOutcome::ContextWindowExceeded,
        ),
        Outcome::TurnLimitReached => (
            RunStatus::Failed,
            Some(run_error(
                "turn_limit",
                "Jarvis stopped after too many steps. Ask again to continue.",
                true,
            )),
            RunOutcome::TurnLimit,
        ),
        Outcome::BudgetExhausted => (
            RunStatus::Failed,
            Some(run_error("token_budget", "Jarvis stopped: this reply used its whole token budget.", false)),
            RunOutcome::TokenBudget,
        ),
        Outcome::Failed { message } => {
            let code = error.map_or("internal", |error| error.code());
            let retryable = error.is_none_or(ProviderError::retryable);
            (RunStatus::Failed, Some(run_error(code, message, retryable)), RunOutcome::Failed)
        }
    }
}

/// The `Finished` event of a run whose owner is gone, ended by another instance.
pub(super) fn interrupted(stopped_by_user: bool) -> RunEvent {
    if stopped_by_user {
        return RunEvent::Finished {
            status: RunStatus::Cancelled,
            stop_reason: RunOutcome::Cancelled.as_str().into(),
            error: None,
        };
    }
    RunEvent::Finished {
        status: RunStatus::Failed,
        stop_reason: RunOutcome::Interrupted.as_str().into(),
        error: Some(run_error(
            "interrupted",
            "The server answering this reply stopped. What it had written is kept; send your message again to continue.",
            true,
        )),
    }
}

/// Relays a run's driver events to its live log, tracks its token usage for the journal, and
/// stores its messages.
struct Observer {
    inner: Arc<Shared>,
    run: Arc<LiveRun>,
    user_id: Uuid,
    conversation_id: Uuid,
    speaker: Option<Speaker>,
    /// Usage of the model calls that completed.
    completed_usage: Usage,
    /// The id of the reply's first message, told to viewers at the start; taken once stored.
    reply_id: Option<Uuid>,
}

impl Observer {
    /// The id of the next message the run stores.
    fn next_message_id(&mut self) -> Uuid {
        self.reply_id.take().unwrap_or_else(Uuid::new_v4)
    }
}

impl RunObserver for Observer {
    fn on_event(&mut self, event: driver::DriverEvent) {
        if let Some(speaker) = &mut self.speaker {
            match &event {
                driver::DriverEvent::Text(text) => speaker.push(text),
                driver::DriverEvent::Retrying { .. } => speaker.discard_pending(),
                // Text before a tool call ends where the call begins.
                driver::DriverEvent::ToolCall { .. } => speaker.push("\n\n"),
                _ => {}
            }
        }
        let journal = &self.inner.journal;
        let event = match event {
            driver::DriverEvent::Text(text) => RunEvent::TextDelta { text },
            driver::DriverEvent::Retrying { attempt, wait_ms } => RunEvent::Retrying { attempt, wait_ms },
            driver::DriverEvent::ToolCall { id, name, input } => {
                RunEvent::ToolCall { id, name, input: input.to_string() }
            }
            driver::DriverEvent::ToolResult { id, name, output, is_error } => {
                RunEvent::ToolResult { id, name, output, is_error }
            }
            driver::DriverEvent::DocumentSaved(document) => RunEvent::DocumentSaved { document },
            // Usage is reported once, in total, at the end of the run; meanwhile the journal
            // keeps it in the run's row, so a run whose instance dies is still metered.
            driver::DriverEvent::Usage(usage) => {
                self.completed_usage.add(&usage);
                journal.record_usage(&self.run, self.completed_usage);
                return;
            }
            driver::DriverEvent::CallUsage(usage) => {
                let mut so_far = self.completed_usage;
                so_far.add(&usage);
                journal.record_usage(&self.run, so_far);
                return;
            }
        };
        self.run.emit(journal, event);
    }

    fn persist<'a>(&'a mut self, message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let id = self.next_message_id();
            retrying("chat.message_save", crate::db::is_transient, || {
                store::append_message(
                    &self.inner.pool,
                    id,
                    self.user_id,
                    self.conversation_id,
                    self.run.run_id,
                    message,
                    false,
                )
            })
            .await
            .map_err(|error| error.to_string())
        })
    }
}
