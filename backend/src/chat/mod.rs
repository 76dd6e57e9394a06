//! Chat: runs of the agent started from the socket and executed on this instance independently
//! of it. The run engine, in parts:
//!
//! - [`live`]: each run executing here numbers its events and fans them out from memory to this
//!   instance's followers, woken per run.
//! - [`journal`]: one writer per instance group-commits the events of all its runs to Postgres,
//!   idempotently, never dropping one, and renews the instance's lease with each commit.
//! - [`listener`]: other instances' commits (one NOTIFY each, naming runs) wake only the
//!   followers of those runs here; a Stop from anywhere reaches the run's owner.
//! - [`follow`]: a client's view of a run after a seq, from memory or from Postgres, exactly
//!   once and in order.
//! - [`executor`]: drives one run and ends it cleanly whatever stops it.
//! - [`reaper`]: ends the runs whose owner's lease expired.
//! - [`instance_store`]: the engine's queries made for the instance rather than one user (group
//!   commit, lease, take-over, Stop notice); [`store`] holds the per-user ones.
//! - [`status`]: the run states, run outcomes and message statuses stored with them.
//! - [`shared`]: the state the service shares with the executor and the reaper.

mod error;
mod executor;
mod follow;
mod instance_store;
pub mod journal;
mod listener;
mod live;
mod reaper;
pub mod search;
mod shared;
pub mod status;
pub mod store;
pub mod view;

use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use futures::StreamExt;
use jarvis_types::chat::{AttachmentView, ModelChoices};
use jarvis_types::protocol::message_too_long;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use self::error::ChatError;
use self::executor::RunStart;
use self::journal::Journal;
pub use self::journal::JournalSettings;
pub use self::live::SharedEvent;
use self::live::StopReason;
use self::shared::Shared;
pub use self::shared::{ChatServices, ChatSettings};
use crate::text;

/// Attachments one message may carry at most.
pub const MAX_ATTACHMENTS_PER_MESSAGE: usize = 10;

/// A message's text, trimmed, or why it cannot be sent. It may be empty when the message
/// carries attachments (`may_be_empty`).
fn checked_text(text: &str, may_be_empty: bool) -> Result<&str, ChatError> {
    let text = text.trim();
    if text.is_empty() && !may_be_empty {
        return Err(ChatError::InvalidMessage("Write a message first.".into()));
    }
    if text::contains_nul(text) {
        return Err(ChatError::InvalidMessage(text::nul_refusal("Your message")));
    }
    if let Some(refusal) = message_too_long(text) {
        return Err(ChatError::InvalidMessage(refusal));
    }
    Ok(text)
}

/// The chat service. Cheap to clone.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Shared>,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat")
            .field("settings", &self.inner.settings)
            .field("instance", &self.inner.journal.instance_id())
            .finish_non_exhaustive()
    }
}

/// The engine's background tasks, stopped in order by [`Chat::shut_down`].
pub struct Engine {
    writer: JoinHandle<()>,
    writer_stop: CancellationToken,
    listener: JoinHandle<()>,
    listener_stop: CancellationToken,
    reaper: JoinHandle<()>,
    reaper_stop: CancellationToken,
}

/// What a message asks of the chat besides its text.
#[derive(Debug, Clone, Copy, Default)]
pub struct MessageOptions<'a> {
    /// Ids of the user's unsent attachments (`send` only).
    pub attachments: &'a [String],
    /// The id of the model chosen; `None`: the conversation's, else the default.
    pub model: Option<&'a str>,
    /// Chosen by the client: a resend of a message that already started a run starts none.
    pub client_message_id: Option<&'a str>,
}

impl Chat {
    pub fn new(services: ChatServices, settings: ChatSettings, journal_settings: JournalSettings) -> Self {
        let ChatServices { pool, models, tools, connector_tools, attachments, voice, billing } = services;
        let journal = Journal::new(pool.clone(), Uuid::new_v4(), journal_settings);
        let admissions =
            tokio::sync::Semaphore::new((pool.options().get_max_connections() as usize / 2).max(1));
        Self {
            inner: Arc::new(Shared {
                pool,
                models,
                tools,
                connector_tools,
                attachments,
                settings,
                voice,
                billing,
                live: Arc::default(),
                journal,
                wakes: Arc::default(),
                admissions,
            }),
        }
    }

    /// The database, for the conversation queries of server functions.
    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    /// The models the user's plan allows, and the one used when none is chosen.
    pub async fn model_choices(&self, user_id: Uuid) -> Result<ModelChoices, ChatError> {
        let (plan, _) = self.inner.billing.plan_of(user_id).await?;
        Ok(self.inner.models.choices(&plan))
    }

    /// This instance's id, as runs name their owner.
    pub fn instance_id(&self) -> Uuid {
        self.inner.journal.instance_id()
    }

    /// Registers this instance's lease, then starts the journal's writer, the listener and the
    /// reaper.
    pub async fn start_engine(&self) -> Result<Engine, ChatError> {
        reaper::reap(&self.inner, Some(Uuid::nil()), false).await?;
        let writer_stop = CancellationToken::new();
        let listener_stop = CancellationToken::new();
        let reaper_stop = CancellationToken::new();
        Ok(Engine {
            writer: self.inner.journal.spawn_writer(writer_stop.clone(), Duration::from_secs(10)),
            writer_stop,
            listener: listener::spawn(
                self.inner.pool.clone(),
                Arc::clone(&self.inner.live),
                Arc::clone(&self.inner.wakes),
                listener_stop.clone(),
            ),
            listener_stop,
            reaper: reaper::spawn(Arc::clone(&self.inner), reaper_stop.clone()),
            reaper_stop,
        })
    }

    /// Runs executing on this instance.
    pub fn running(&self) -> usize {
        self.inner.live.executing_count()
    }

    /// The instance is stopping. Runs get `grace` to finish; those still going are then ended
    /// cleanly (partial reply kept, `Finished` stored); the journal writes what it holds; the
    /// listener keeps running throughout, so a Stop from another instance still works; finally
    /// the lease is given up. Returns how many runs had to be interrupted.
    pub async fn shut_down(&self, engine: Engine, grace: Duration) -> usize {
        engine.reaper_stop.cancel();
        let interrupted = if self.wait_for_runs(grace).await { 0 } else { self.running() };
        if interrupted > 0 {
            tracing::warn!(runs = interrupted, "shutdown.runs_interrupted");
            for run in self.inner.live.all_executing() {
                run.stop(StopReason::Shutdown);
            }
            if !self.wait_for_runs(Duration::from_secs(15)).await {
                tracing::error!(runs = self.running(), "shutdown.runs_not_ended");
            }
        }
        engine.writer_stop.cancel();
        let _ = engine.writer.await;
        engine.listener_stop.cancel();
        let _ = engine.listener.await;
        let _ = engine.reaper.await;
        if let Err(error) = instance_store::release(&self.inner.pool, self.instance_id()).await {
            tracing::warn!(%error, "shutdown.lease_release_failed");
        }
        interrupted
    }

    /// Waits until no run executes here, or `limit` passes; `true` if none does.
    async fn wait_for_runs(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if self.running() == 0 {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stores the user's message with its attachments and starts a run answering it (with the
    /// model chosen, which the conversation then remembers); returns the run's id.
    #[tracing::instrument(name = "chat.start", skip_all, fields(user.id = %user_id))]
    pub async fn start(
        &self,
        user_id: Uuid,
        conversation_id: Option<Uuid>,
        text: &str,
        options: MessageOptions<'_>,
    ) -> Result<Uuid, ChatError> {
        let text = checked_text(text, !options.attachments.is_empty())?;
        // A resend of a message that started its run already follows that run: its attachments
        // are taken by then.
        if let Some(run_id) = self.resent(user_id, options.client_message_id).await? {
            return Ok(run_id);
        }
        let attachments = self.unsent_attachments(user_id, options.attachments).await?;
        let turn = store::Turn::Ask { text, attachments: &attachments };
        self.launch(user_id, conversation_id, turn, options).await
    }

    /// Stores `text` as a new version of the user's message `message_id` (beside it, on a branch
    /// of its own, which the conversation then shows, with the attachments of the one edited)
    /// and starts a run answering it.
    #[tracing::instrument(name = "chat.edit", skip_all, fields(user.id = %user_id))]
    pub async fn edit(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
        text: &str,
        options: MessageOptions<'_>,
    ) -> Result<Uuid, ChatError> {
        // Empty is refused in the store unless the edited message has attachments.
        let text = checked_text(text, true)?;
        let turn = store::Turn::Edit { of: message_id, text };
        self.launch(user_id, Some(conversation_id), turn, options).await
    }

    /// Starts a run answering again the question of the reply `message_id` (or the question
    /// `message_id`, with its attachments): its reply is a new version beside the earlier ones,
    /// which are kept.
    #[tracing::instrument(name = "chat.regenerate", skip_all, fields(user.id = %user_id))]
    pub async fn regenerate(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
        options: MessageOptions<'_>,
    ) -> Result<Uuid, ChatError> {
        let turn = store::Turn::Regenerate { of: message_id };
        self.launch(user_id, Some(conversation_id), turn, options).await
    }

    /// The run a client message id started already, if any.
    async fn resent(
        &self,
        user_id: Uuid,
        client_message_id: Option<&str>,
    ) -> Result<Option<Uuid>, ChatError> {
        match client_message_id.and_then(usable_client_id) {
            Some(id) => Ok(store::run_for_client_message(&self.inner.pool, user_id, id).await?),
            None => Ok(None),
        }
    }

    /// The user's unsent attachments named by a message, in its order, or why they cannot be
    /// sent.
    async fn unsent_attachments(
        &self,
        user_id: Uuid,
        ids: &[String],
    ) -> Result<Vec<AttachmentView>, ChatError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_ATTACHMENTS_PER_MESSAGE {
            return Err(ChatError::InvalidMessage(format!(
                "A message can carry at most {MAX_ATTACHMENTS_PER_MESSAGE} attachments."
            )));
        }
        let mut parsed: Vec<Uuid> = Vec::with_capacity(ids.len());
        for id in ids {
            let id = Uuid::parse_str(id.trim()).map_err(|_| ChatError::AttachmentGone)?;
            if !parsed.contains(&id) {
                parsed.push(id);
            }
        }
        let views = self.inner.attachments.unsent(user_id, &parsed).await?;
        if views.len() != parsed.len() {
            return Err(ChatError::AttachmentGone);
        }
        Ok(views)
    }

    /// Shows the branch through `message_id`, a version of a message of the conversation; kept
    /// for the next visit. Refused while a run answers in the conversation.
    pub async fn show_version(
        &self,
        user_id: Uuid,
        conversation_id: Uuid,
        message_id: Uuid,
    ) -> Result<(), ChatError> {
        match store::show_version(&self.inner.pool, user_id, conversation_id, message_id).await? {
            store::VersionShown::Shown => Ok(()),
            store::VersionShown::NotFound => Err(ChatError::NotFound),
            store::VersionShown::RunInProgress => Err(ChatError::RunInProgress),
        }
    }

    /// Stores the question of `turn` (or finds the one regenerated) with a new run, admitted
    /// against the plan, and starts executing it here; returns the run's id.
    async fn launch(
        &self,
        user_id: Uuid,
        conversation_id: Option<Uuid>,
        turn: store::Turn<'_>,
        options: MessageOptions<'_>,
    ) -> Result<Uuid, ChatError> {
        let client_message_id = options.client_message_id.and_then(usable_client_id);
        let entitlement = self.inner.billing.entitlement(user_id).await.map_err(ChatError::from)?;
        let requested = options.model.map(str::trim).filter(|id| !id.is_empty());
        let remembered = match (requested, conversation_id) {
            (None, Some(conversation_id)) => store::conversation(&self.inner.pool, user_id, conversation_id)
                .await?
                .and_then(|row| row.model),
            _ => None,
        };
        let model = self
            .inner
            .models
            .choose(&entitlement.plan, requested, remembered.as_deref())
            .map_err(|refusal| ChatError::InvalidMessage(refusal.to_string()))?
            .clone();
        let refuse_attachment = |attachment: &AttachmentView| model.refusal_for(attachment);
        let mut reaped = false;
        let new_run = loop {
            let permit = self.inner.admissions.acquire().await.expect("the admission gate is never closed");
            let begun = store::begin_run(
                &self.inner.pool,
                store::BeginRun {
                    user_id,
                    conversation_id,
                    turn,
                    model: model.id(),
                    remember_model: requested.is_some(),
                    refuse_attachment: &refuse_attachment,
                    client_message_id,
                    allowance: &entitlement.allowance,
                    owner: self.instance_id(),
                },
            )
            .await;
            drop(permit);
            match begun {
                Ok(new_run) => break new_run,
                Err(store::BeginError::Existing(run_id)) => return Ok(run_id),
                Err(store::BeginError::NotFound) => return Err(ChatError::NotFound),
                Err(store::BeginError::NotBranchable(why)) => {
                    return Err(ChatError::InvalidMessage(why.to_owned()));
                }
                Err(store::BeginError::Refused(why)) => return Err(ChatError::InvalidMessage(why)),
                Err(store::BeginError::AttachmentTaken) => return Err(ChatError::AttachmentGone),
                Err(store::BeginError::Attachments(error)) => return Err(ChatError::from(error)),
                Err(store::BeginError::EmailNotVerified) => return Err(ChatError::EmailNotVerified),
                Err(store::BeginError::RunInProgress) => {
                    let conversation_id = conversation_id.ok_or(ChatError::RunInProgress)?;
                    if reaped || !self.end_ownerless_runs(user_id, conversation_id).await? {
                        return Err(ChatError::RunInProgress);
                    }
                    reaped = true;
                }
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
                    if let Some(id) = client_message_id
                        && let Some(run_id) =
                            store::run_for_client_message(&self.inner.pool, user_id, id).await?
                    {
                        return Ok(run_id);
                    }
                    return Err(ChatError::from(error));
                }
            }
        };
        let run_id = new_run.run_id;
        let run = self.inner.live.register(run_id, user_id);
        let start = RunStart {
            user_id,
            text: new_run.question_text.clone(),
            new_run,
            client_message_id: client_message_id.map(str::to_owned),
            entitlement,
            model,
        };
        tokio::spawn(executor::execute(Arc::clone(&self.inner), run, start));
        Ok(run_id)
    }

    /// Ends the running runs of a conversation whose owner is gone, so they do not block it;
    /// `true` if it ended any. (A run that ended normally is closed in Postgres before its
    /// `Finished` is shown, so it never blocks the next message.)
    async fn end_ownerless_runs(&self, user_id: Uuid, conversation_id: Uuid) -> Result<bool, ChatError> {
        let mut ended = 0;
        for run_id in store::running_runs(&self.inner.pool, user_id, conversation_id).await? {
            ended += reaper::reap(&self.inner, Some(run_id), false).await?;
        }
        Ok(ended > 0)
    }

    /// Deletes a conversation of this user's with its runs, messages and spoken clips; `false`
    /// if there is no such conversation. The clips' rows go with the conversation, then their
    /// audio is deleted from object storage.
    pub async fn delete_conversation(&self, user_id: Uuid, conversation_id: Uuid) -> Result<bool, ChatError> {
        let clips = match &self.inner.voice {
            Some(voice) => {
                voice.conversation_clips(user_id, conversation_id).await.map_err(ChatError::from)?
            }
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

    /// Stops a run of this user's, wherever it executes; a run whose owner is gone is ended
    /// here at once.
    pub async fn cancel(&self, user_id: Uuid, run_id: Uuid) -> Result<(), ChatError> {
        if let Some(run) = self.inner.live.executing(run_id).filter(|run| run.user_id == user_id) {
            run.stop(StopReason::User);
            return Ok(());
        }
        match store::run_status(&self.inner.pool, user_id, run_id).await? {
            None => Err(ChatError::NotFound),
            Some(status) if status != status::RunState::Running => Ok(()),
            Some(_) => {
                if reaper::reap(&self.inner, Some(run_id), true).await? == 0 {
                    instance_store::notify_cancel(&self.inner.pool, run_id).await?;
                }
                Ok(())
            }
        }
    }

    /// The events of a run after `after_seq`, then the live ones, each exactly once, ending
    /// with its `Finished` event.
    pub fn follow(
        &self,
        user_id: Uuid,
        run_id: Uuid,
        after_seq: u64,
    ) -> impl Stream<Item = Result<(u64, SharedEvent), ChatError>> + Send + 'static {
        match self.inner.live.get(user_id, run_id) {
            Some(run) => {
                let elsewhere =
                    follow::Elsewhere { pool: self.inner.pool.clone(), wakes: Arc::clone(&self.inner.wakes) };
                follow::local(run, after_seq, elsewhere).left_stream()
            }
            None => follow::remote(self.inner.pool.clone(), &self.inner.wakes, user_id, run_id, after_seq)
                .right_stream(),
        }
    }
}

/// A client message id as stored, or `None` for one Postgres could not store or too long to be
/// ours (it is then ignored).
fn usable_client_id(id: &str) -> Option<&str> {
    let id = id.trim();
    (!id.is_empty() && id.len() <= 100 && !text::contains_nul(id)).then_some(id)
}
