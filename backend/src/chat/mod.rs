//! Chat: runs of the agent started from the socket, executed independently of it, every event
//! stored in order in Postgres so that any instance can replay a run to a reconnecting client
//! exactly once, and followed live through `LISTEN/NOTIFY`. Stopping a run works from any
//! instance too.

pub mod store;
pub mod view;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::Stream;
use futures::future::BoxFuture;
use jarvis_types::protocol::{MAX_MESSAGE_CHARS, RunError, RunEvent, RunStatus};
use sqlx::PgPool;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::accounts::Accounts;
use crate::agent::driver::{self, RunObserver, RunRequest};
use crate::agent::messages::{ContentBlock, Message, Role};
use crate::agent::provider::ModelProvider;
use crate::agent::tools::{ToolContext, ToolRegistry};
use crate::agent::turn::{Outcome, TurnLimits};
use crate::billing::usage::Refusal;
use crate::billing::{Billing, Entitlement};
use crate::voice::{Speaker, Voice};

/// How runs are set up.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// Recorded with each run.
    pub model: String,
    pub limits: TurnLimits,
    pub context_budget_tokens: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error("Confirm your email address first: we sent you a link.")]
    EmailNotVerified,
    #[error("{0}")]
    InvalidMessage(String),
    #[error("No such conversation or run.")]
    NotFound,
    #[error("Jarvis is still answering in this conversation. Stop it or wait for it to finish.")]
    RunInProgress,
    /// The user's plan does not allow another message now.
    #[error("{}", limit_message(.refusal, .plan_name))]
    LimitReached { refusal: Refusal, plan_name: String, can_upgrade: bool },
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a user reads when a limit refuses their message.
fn limit_message(refusal: &Refusal, plan: &str) -> String {
    use jarvis_types::protocol::Limit;
    let allowed = refusal.allowed;
    match refusal.limit {
        Limit::MessagesPerDay => format!(
            "You have sent all {allowed} messages your {plan} plan allows today. Upgrade for more, or write again after midnight UTC."
        ),
        Limit::TokensPerMonth => format!(
            "You have used the {allowed} tokens your {plan} plan allows this month. Upgrade for more, or write again next month."
        ),
        Limit::MessagesPerHour => match refusal.retry_after_secs() {
            Some(secs) => format!(
                "You have sent {allowed} messages in the last hour, the most your {plan} plan allows. Try again in {}.",
                minutes(secs)
            ),
            None => format!("Your {plan} plan allows no messages."),
        },
    }
}

fn minutes(secs: u64) -> String {
    let minutes = (secs + 59) / 60;
    if minutes <= 1 { "a minute".to_owned() } else { format!("{minutes} minutes") }
}

impl From<sqlx::Error> for ChatError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(format!("database: {error}"))
    }
}

/// The chat service. Cheap to clone.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    accounts: Accounts,
    provider: Arc<dyn ModelProvider>,
    tools: ToolRegistry,
    settings: ChatSettings,
    /// Speaks replies while they stream, for users who want that.
    voice: Option<Voice>,
    /// Plans, limits and metering.
    billing: Billing,
    /// Runs executing on this instance.
    running: Mutex<HashMap<Uuid, CancellationToken>>,
    /// "Run X has new events", from this instance's writers and from other instances via NOTIFY.
    wake: broadcast::Sender<Uuid>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

const SYSTEM_PROMPT: &str = "You are Jarvis, a capable and concise personal assistant in the user's browser. \
Answer in Markdown. Use tools when they help, and say plainly when you cannot do something.";

impl Chat {
    pub fn new(
        pool: PgPool,
        accounts: Accounts,
        provider: Arc<dyn ModelProvider>,
        tools: ToolRegistry,
        settings: ChatSettings,
        voice: Option<Voice>,
        billing: Billing,
    ) -> Self {
        let (wake, _) = broadcast::channel(1024);
        Self {
            inner: Arc::new(Inner {
                pool,
                accounts,
                provider,
                tools,
                settings,
                voice,
                billing,
                running: Mutex::default(),
                wake,
            }),
        }
    }

    /// The database, for the conversation queries of server functions.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// Listens for other instances' run events and stop requests until `shutdown`.
    pub fn spawn_listener(&self, shutdown: CancellationToken) {
        let chat = self.clone();
        tokio::spawn(async move {
            let mut listener = match sqlx::postgres::PgListener::connect_with(&chat.inner.pool).await {
                Ok(listener) => listener,
                Err(error) => {
                    tracing::error!(%error, "chat.listener_failed");
                    return;
                }
            };
            if let Err(error) = listener.listen_all(["jarvis_run_events", "jarvis_run_cancel"]).await {
                tracing::error!(%error, "chat.listen_failed");
                return;
            }
            loop {
                let notification = tokio::select! {
                    () = shutdown.cancelled() => return,
                    notification = listener.recv() => notification,
                };
                match notification {
                    Ok(notification) => {
                        let Ok(run_id) = Uuid::parse_str(notification.payload()) else { continue };
                        if notification.channel() == "jarvis_run_cancel" {
                            chat.cancel_local(run_id);
                        } else {
                            let _ = chat.inner.wake.send(run_id);
                        }
                    }
                    Err(error) => {
                        tracing::warn!(%error, "chat.listener_interrupted");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
    }

    /// Waits until no run executes on this instance, or `limit` passes; returns how many still run.
    /// Called on shutdown so that replies in progress are finished and stored, not cut.
    pub async fn drain(&self, limit: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let running = self.inner.running.lock().expect("running runs").len();
            if running == 0 || tokio::time::Instant::now() >= deadline {
                return running;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn cancel_local(&self, run_id: Uuid) -> bool {
        match self.inner.running.lock().expect("running runs").get(&run_id) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Stores the user's message and starts a run answering it; returns the run's id.
    #[tracing::instrument(name = "chat.start", skip_all, fields(user.id = %user_id))]
    pub async fn start(
        &self,
        user_id: Uuid,
        conversation_id: Option<Uuid>,
        text: &str,
        client_message_id: Option<&str>,
    ) -> Result<Uuid, ChatError> {
        let client_message_id =
            client_message_id.map(str::trim).filter(|id| !id.is_empty() && id.len() <= 100);
        if let Some(id) = client_message_id {
            if let Some(run_id) = store::run_for_client_message(&self.inner.pool, user_id, id).await? {
                return Ok(run_id);
            }
        }
        let text = text.trim();
        if text.is_empty() {
            return Err(ChatError::InvalidMessage("Write a message first.".into()));
        }
        if text.chars().count() > MAX_MESSAGE_CHARS {
            return Err(ChatError::InvalidMessage(format!(
                "Messages are limited to {MAX_MESSAGE_CHARS} characters."
            )));
        }
        let profile = self.inner.accounts.profile(user_id).await.map_err(|error| match error {
            crate::accounts::AccountError::NotFound => ChatError::NotFound,
            other => ChatError::Internal(other.to_string()),
        })?;
        if !profile.email_verified() {
            return Err(ChatError::EmailNotVerified);
        }
        if let Some(conversation_id) = conversation_id {
            // A run whose instance died leaves no events behind; it must not block the chat.
            store::fail_orphaned_runs(&self.inner.pool, user_id, conversation_id, 120.0).await?;
        }
        let entitlement = self
            .inner
            .billing
            .entitlement(user_id, &self.inner.settings.model)
            .await
            .map_err(|error| ChatError::Internal(error.to_string()))?;
        let begun = store::begin_run(
            &self.inner.pool,
            user_id,
            conversation_id,
            text,
            &entitlement.model,
            client_message_id,
            &entitlement.allowance,
        )
        .await;
        let new_run = match begun {
            Ok(new_run) => new_run,
            Err(store::BeginError::NotFound) => return Err(ChatError::NotFound),
            Err(store::BeginError::RunInProgress) => return Err(ChatError::RunInProgress),
            Err(store::BeginError::Limit(refusal)) => {
                tracing::info!(limit = ?refusal.limit, plan = entitlement.plan.id, "chat.limit_reached");
                let can_upgrade = self.inner.billing.enabled()
                    && self
                        .inner
                        .billing
                        .catalog()
                        .plans()
                        .iter()
                        .any(|plan| plan.id != entitlement.plan.id && plan.price_id.is_some());
                return Err(ChatError::LimitReached {
                    refusal,
                    plan_name: entitlement.plan.name.clone(),
                    can_upgrade,
                });
            }
            Err(store::BeginError::Database(error)) => {
                // Two sends of one message racing: the other one won; follow its run.
                if let Some(id) = client_message_id {
                    if let Some(run_id) = store::run_for_client_message(&self.inner.pool, user_id, id).await?
                    {
                        return Ok(run_id);
                    }
                }
                return Err(ChatError::from(error));
            }
        };
        let cancel = CancellationToken::new();
        self.inner.running.lock().expect("running runs").insert(new_run.run_id, cancel.clone());
        let chat = self.clone();
        let run_id = new_run.run_id;
        let text = text.to_owned();
        let display_name = profile.display_name.clone();
        let client_message_id = client_message_id.map(str::to_owned);
        tokio::spawn(async move {
            chat.execute(user_id, new_run, text, client_message_id, display_name, entitlement, cancel).await;
            chat.inner.running.lock().expect("running runs").remove(&run_id);
        });
        Ok(run_id)
    }

    /// Deletes a conversation of this user's with its runs, messages and spoken clips; `false`
    /// if there is no such conversation. The clips' rows go with the conversation, then their
    /// audio is deleted from object storage.
    pub async fn delete_conversation(&self, user_id: Uuid, conversation_id: Uuid) -> Result<bool, ChatError> {
        let clips = match &self.inner.voice {
            Some(voice) => voice
                .conversation_clips(user_id, conversation_id)
                .await
                .map_err(|error| ChatError::Internal(error.to_string()))?,
            None => Vec::new(),
        };
        if !store::delete(&self.inner.pool, user_id, conversation_id).await? {
            return Ok(false);
        }
        if let Some(voice) = &self.inner.voice {
            voice.delete_audio(user_id, &clips).await;
        }
        Ok(true)
    }

    /// Stops a run of this user's, wherever it executes.
    pub async fn cancel(&self, user_id: Uuid, run_id: Uuid) -> Result<(), ChatError> {
        match store::run_status(&self.inner.pool, user_id, run_id).await? {
            None => Err(ChatError::NotFound),
            Some(status) if status != "running" => Ok(()),
            Some(_) => {
                if !self.cancel_local(run_id) {
                    sqlx::query("SELECT pg_notify('jarvis_run_cancel', $1)")
                        .bind(run_id.to_string())
                        .execute(&self.inner.pool)
                        .await?;
                }
                Ok(())
            }
        }
    }

    async fn execute(
        &self,
        user_id: Uuid,
        new_run: store::NewRun,
        text: String,
        client_message_id: Option<String>,
        display_name: String,
        entitlement: Entitlement,
        cancel: CancellationToken,
    ) {
        let run_id = new_run.run_id;
        let (events, receiver) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_events(self.clone(), user_id, run_id, receiver));
        let _ = events.send(RunEvent::Started {
            conversation_id: new_run.conversation_id.to_string(),
            title: new_run.title.clone(),
            user_text: text,
            client_message_id,
        });

        let history = match store::model_history(&self.inner.pool, user_id, new_run.conversation_id).await {
            Ok(history) => history,
            Err(error) => {
                tracing::error!(%error, "chat.history_failed");
                Vec::new()
            }
        };
        // Spoken replies only on plans that include voice.
        let speaker = match &self.inner.voice {
            Some(voice) if entitlement.voice => voice.speaker(user_id, run_id, events.clone()).await,
            _ => None,
        };
        let mut observer = Observer {
            chat: self.clone(),
            user_id,
            run_id,
            conversation_id: new_run.conversation_id,
            events: events.clone(),
            speaker,
        };
        let summary = if history.is_empty() {
            None
        } else {
            let request = RunRequest {
                context: ToolContext { user_id, run_id },
                model: Some(entitlement.model.clone()),
                system: format!("{SYSTEM_PROMPT}\nThe user's name is {display_name}."),
                history,
                // The run's budget never exceeds what the plan has left this month.
                limits: TurnLimits {
                    token_budget: new_run
                        .tokens_left
                        .map_or(self.inner.settings.limits.token_budget, |left| {
                            left.min(self.inner.settings.limits.token_budget)
                        }),
                    ..self.inner.settings.limits
                },
                context_budget_tokens: self.inner.settings.context_budget_tokens,
            };
            Some(
                driver::run(self.inner.provider.as_ref(), &self.inner.tools, request, cancel, &mut observer)
                    .await,
            )
        };

        let (status, error, outcome_name, usage, unfinished) = match &summary {
            None => (
                RunStatus::Failed,
                Some(run_error("internal", "The conversation could not be loaded.", true)),
                "failed",
                Default::default(),
                String::new(),
            ),
            Some(summary) => {
                let (status, error, name) = describe(&summary.outcome, summary.error.as_ref());
                (status, error, name, summary.usage, summary.unfinished_text.clone())
            }
        };
        if !unfinished.is_empty() && status != RunStatus::Completed {
            let partial =
                Message { role: Role::Assistant, content: vec![ContentBlock::Text { text: unfinished }] };
            if let Err(error) = store::append_message(
                &self.inner.pool,
                user_id,
                new_run.conversation_id,
                run_id,
                &partial,
                true,
            )
            .await
            {
                tracing::error!(%error, "chat.partial_save_failed");
            }
        }
        // Every clip of the reply is announced before the run ends (a stopped run's are dropped).
        if let Some(speaker) = observer.speaker.take() {
            if status == RunStatus::Cancelled { speaker.abort() } else { speaker.finish().await }
        }
        let _ = events.send(RunEvent::Usage {
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            cache_read_tokens: usage.cache_read_input_tokens,
            cache_write_tokens: usage.cache_creation_input_tokens,
        });
        // Metered before the run is reported finished, so the usage is there once it is.
        if let Err(error) = self.inner.billing.record_usage(user_id, run_id, &entitlement.model, &usage).await
        {
            tracing::error!(%error, "chat.usage_record_failed");
        }
        let error_code = error.as_ref().map(|error| error.code.clone());
        let _ = events.send(RunEvent::Finished { status, stop_reason: outcome_name.to_owned(), error });
        drop(observer);
        drop(events);
        let _ = writer.await;
        let status_name = match status {
            RunStatus::Completed => "completed",
            RunStatus::Cancelled => "cancelled",
            RunStatus::Failed => "failed",
        };
        if let Err(error) = store::finish_run(
            &self.inner.pool,
            user_id,
            run_id,
            status_name,
            outcome_name,
            error_code.as_deref(),
            &usage,
        )
        .await
        {
            tracing::error!(%error, "chat.finish_failed");
        }
        let _ = self.inner.wake.send(run_id);
    }

    /// The events of a run after `after_seq`, then the live ones, each exactly once, ending
    /// with its `Finished` event.
    pub fn follow(
        &self,
        user_id: Uuid,
        run_id: Uuid,
        after_seq: u64,
    ) -> impl Stream<Item = Result<(u64, RunEvent), ChatError>> + Send + 'static {
        let state = Follow {
            chat: self.clone(),
            user_id,
            run_id,
            last_seq: after_seq,
            queue: VecDeque::new(),
            finished: false,
            wake: self.inner.wake.subscribe(),
        };
        futures::stream::unfold(state, |mut state| async move {
            loop {
                if let Some((seq, event)) = state.queue.pop_front() {
                    if matches!(event, RunEvent::Finished { .. }) {
                        state.finished = true;
                        state.queue.clear();
                    }
                    return Some((Ok((seq, event)), state));
                }
                if state.finished {
                    return None;
                }
                match store::events_after(&state.chat.inner.pool, state.user_id, state.run_id, state.last_seq)
                    .await
                {
                    Err(error) => {
                        state.finished = true;
                        return Some((Err(ChatError::from(error)), state));
                    }
                    Ok(None) => {
                        state.finished = true;
                        return Some((Err(ChatError::NotFound), state));
                    }
                    Ok(Some((events, run_over))) => {
                        if let Some((seq, _)) = events.last() {
                            state.last_seq = *seq;
                            state.queue.extend(events);
                            continue;
                        }
                        if run_over {
                            return None;
                        }
                    }
                }
                // Wait for news of this run (or poll again after a second, in case a
                // notification was missed).
                let deadline = tokio::time::sleep(Duration::from_secs(1));
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        () = &mut deadline => break,
                        woken = state.wake.recv() => match woken {
                            Ok(id) if id == state.run_id => break,
                            Ok(_) => {}
                            Err(broadcast::error::RecvError::Lagged(_)) => break,
                            Err(broadcast::error::RecvError::Closed) => break,
                        },
                    }
                }
            }
        })
    }
}

struct Follow {
    chat: Chat,
    user_id: Uuid,
    run_id: Uuid,
    last_seq: u64,
    queue: VecDeque<(u64, RunEvent)>,
    finished: bool,
    wake: broadcast::Receiver<Uuid>,
}

fn run_error(code: &str, message: &str, retryable: bool) -> RunError {
    RunError { code: code.into(), message: message.into(), retryable }
}

/// How an outcome is told to the user and recorded.
fn describe(
    outcome: &Outcome,
    error: Option<&crate::agent::provider::ProviderError>,
) -> (RunStatus, Option<RunError>, &'static str) {
    match outcome {
        Outcome::Completed => (RunStatus::Completed, None, "completed"),
        Outcome::Cancelled => (RunStatus::Cancelled, None, "cancelled"),
        Outcome::MaxTokens => (
            RunStatus::Completed,
            Some(run_error("max_tokens", "The reply reached its length limit and was cut short.", false)),
            "max_tokens",
        ),
        Outcome::Refused => (
            RunStatus::Completed,
            Some(run_error("refusal", "Jarvis declined to answer this.", false)),
            "refusal",
        ),
        Outcome::ContextWindowExceeded => (
            RunStatus::Failed,
            Some(run_error(
                "context_window_exceeded",
                "This conversation is too long for the model. Start a new one.",
                false,
            )),
            "context_window_exceeded",
        ),
        Outcome::TurnLimitReached => (
            RunStatus::Failed,
            Some(run_error(
                "turn_limit",
                "Jarvis stopped after too many steps. Ask again to continue.",
                true,
            )),
            "turn_limit",
        ),
        Outcome::BudgetExhausted => (
            RunStatus::Failed,
            Some(run_error("token_budget", "Jarvis stopped: this reply used its whole token budget.", false)),
            "token_budget",
        ),
        Outcome::Failed { message } => {
            let code = error.map_or("internal", |error| error.code());
            let retryable = !matches!(code, "model_not_configured" | "model_auth_failed");
            (RunStatus::Failed, Some(run_error(code, message, retryable)), "failed")
        }
    }
}

/// Relays a run's driver events to the event writer and stores its messages.
struct Observer {
    chat: Chat,
    user_id: Uuid,
    run_id: Uuid,
    conversation_id: Uuid,
    events: mpsc::UnboundedSender<RunEvent>,
    speaker: Option<Speaker>,
}

impl RunObserver for Observer {
    fn on_event(&mut self, event: driver::RunEvent) {
        if let Some(speaker) = &mut self.speaker {
            match &event {
                driver::RunEvent::Text(text) => speaker.push(text),
                driver::RunEvent::Retrying { .. } => speaker.discard_pending(),
                // Text before a tool call ends where the call begins.
                driver::RunEvent::ToolCall { .. } => speaker.push("\n\n"),
                _ => {}
            }
        }
        let event = match event {
            driver::RunEvent::Text(text) => RunEvent::TextDelta { text },
            driver::RunEvent::Retrying { attempt, wait_ms } => RunEvent::Retrying { attempt, wait_ms },
            driver::RunEvent::ToolCall { id, name, input } => {
                RunEvent::ToolCall { id, name, input: input.to_string() }
            }
            driver::RunEvent::ToolResult { id, name, output, is_error } => {
                RunEvent::ToolResult { id, name, output, is_error }
            }
            // Usage is reported once, in total, at the end of the run.
            driver::RunEvent::DocumentSaved(document) => RunEvent::DocumentSaved { document },
            driver::RunEvent::Usage(_) => return,
        };
        let _ = self.events.send(event);
    }

    fn persist<'a>(&'a mut self, message: &'a Message) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            store::append_message(
                &self.chat.inner.pool,
                self.user_id,
                self.conversation_id,
                self.run_id,
                message,
                false,
            )
            .await
            .map_err(|error| error.to_string())
        })
    }
}

/// Writes a run's events in order, coalescing text that arrives within 40 ms into one event so
/// that a fast stream does not become thousands of rows.
async fn write_events(
    chat: Chat,
    user_id: Uuid,
    run_id: Uuid,
    mut receiver: mpsc::UnboundedReceiver<RunEvent>,
) {
    let mut next_seq = 1u64;
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let deadline = tokio::time::Instant::now() + Duration::from_millis(40);
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, receiver.recv()).await {
            batch.push(event);
        }
        let batch = coalesce(batch);
        let mut written = false;
        for attempt in 0..3 {
            match store::append_events(&chat.inner.pool, user_id, run_id, next_seq, &batch).await {
                Ok(()) => {
                    written = true;
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, attempt, "chat.event_write_failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        if written {
            next_seq += batch.len() as u64;
            let _ = chat.inner.wake.send(run_id);
        }
    }
}

/// Joins adjacent text deltas.
fn coalesce(events: Vec<RunEvent>) -> Vec<RunEvent> {
    let mut out: Vec<RunEvent> = Vec::with_capacity(events.len());
    for event in events {
        if let (Some(RunEvent::TextDelta { text: previous }), RunEvent::TextDelta { text }) =
            (out.last_mut(), &event)
        {
            previous.push_str(text);
            continue;
        }
        out.push(event);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjacent_text_deltas_are_joined_and_other_events_keep_their_place() {
        let text = |t: &str| RunEvent::TextDelta { text: t.into() };
        let retry = RunEvent::Retrying { attempt: 1, wait_ms: 5 };
        let out = coalesce(vec![text("a"), text("b"), retry.clone(), text("c")]);
        assert_eq!(out, vec![text("ab"), retry, text("c")]);
    }
}
