//! Attachments of a question: images, PDFs and text files uploaded from the composer before a
//! message is sent, kept with the message once sent, and given to the model as `image`,
//! `document` and text blocks. What an upload is comes from its bytes (`inspect`); images are
//! checked from their header, scaled to the size the model reads best and previewed
//! (`resize`); the bytes live in object storage under the user's prefix and count against the
//! plan's storage; the rows are the user's under row-level security (`store`). Unsent
//! attachments older than a day are swept away.

mod error;
mod inspect;
mod limits;
mod resize;
mod resolve;
mod store;
pub mod tools;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use jarvis_types::chat::{AttachmentKind, AttachmentView};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use self::error::AttachmentError;
use self::inspect::Recognised;
pub use self::limits::{AttachmentLimits, human_size};
use self::resize::Thumbnail;
use self::store::AttachmentRow;
use crate::agent::messages::{ContentBlock, Message};
use crate::billing::Billing;
use crate::db::for_user;
use crate::library::files::{self, FileError, Uploaded};
use crate::storage::{BlobStore, StorageError};

/// How many images are decoded at once on one instance: a decode may take a few hundred MB.
const CONCURRENT_DECODES: usize = 2;
/// How many stale attachments one sweep deletes before looking again.
const SWEEP_BATCH: i32 = 100;

/// The attachments service. Cheap to clone.
#[derive(Clone)]
pub struct Attachments {
    pool: PgPool,
    store: BlobStore,
    limits: AttachmentLimits,
    /// The plan's storage limit, when set (see [`Attachments::with_billing`]).
    billing: Option<Billing>,
    decodes: Arc<Semaphore>,
}

impl std::fmt::Debug for Attachments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attachments").field("limits", &self.limits).finish_non_exhaustive()
    }
}

/// The object names of an attachment inside its owner's prefix.
fn object_name(id: Uuid) -> String {
    format!("attachments/{id}")
}

fn thumbnail_name(id: Uuid, extension: &str) -> String {
    format!("attachments/{id}-thumbnail.{extension}")
}

/// The name inside the user's prefix of a full key stored in a row.
fn relative(user_id: Uuid, key: &str) -> Result<&str, StorageError> {
    key.strip_prefix(&BlobStore::user_prefix(user_id))
        .ok_or_else(|| StorageError::InvalidName(key.to_owned()))
}

/// What an upload became, ready to store.
struct Prepared {
    bytes: Bytes,
    content_type: &'static str,
    kind: AttachmentKind,
    extension: Option<&'static str>,
    width: Option<u32>,
    height: Option<u32>,
    pages: Option<u32>,
    thumbnail: Option<Thumbnail>,
}

impl Attachments {
    pub fn new(pool: PgPool, store: BlobStore, limits: AttachmentLimits) -> Self {
        Self { pool, store, limits, billing: None, decodes: Arc::new(Semaphore::new(CONCURRENT_DECODES)) }
    }

    /// The same service, refusing what would overflow the storage of the user's plan.
    #[must_use]
    pub fn with_billing(mut self, billing: Billing) -> Self {
        self.billing = Some(billing);
        self
    }

    pub fn limits(&self) -> &AttachmentLimits {
        &self.limits
    }

    /// Takes an upload of `user_id` (from the verified session): recognises it from its bytes,
    /// checks it against the limits, scales an image down and previews it, checks the plan's
    /// storage, then stores it under the user's prefix as an unsent attachment. Anything refused
    /// leaves nothing behind.
    #[tracing::instrument(name = "attachments.upload", skip_all, fields(user.id = %user_id, upload.size = bytes.len()))]
    pub async fn upload(
        &self,
        user_id: Uuid,
        filename: &str,
        bytes: Bytes,
    ) -> Result<AttachmentView, AttachmentError> {
        let recognised = inspect::recognise(&bytes, filename, &self.limits)?;
        let prepared = self.prepare(recognised, bytes).await?;
        let stored_size = prepared.bytes.len() + prepared.thumbnail.as_ref().map_or(0, |t| t.bytes.len());
        self.check_storage(user_id, stored_size).await?;
        let view = self.store_prepared(user_id, filename, prepared).await?;
        tracing::info!(attachment.id = %view.id, attachment.kind = ?view.kind, attachment.size = view.size_bytes, "attachments.stored");
        Ok(view)
    }

    /// The CPU-bound part of an upload, off the async threads (and images a few at a time).
    async fn prepare(&self, recognised: Recognised, bytes: Bytes) -> Result<Prepared, AttachmentError> {
        let limits = self.limits;
        match recognised {
            Recognised::Image { format, content_type, extension } => {
                // The semaphore is never closed: a permit always comes.
                let _permit = self.decodes.acquire().await.ok();
                let image = tokio::task::spawn_blocking(move || {
                    resize::prepare_image(bytes, format, content_type, extension, &limits)
                })
                .await??;
                Ok(Prepared {
                    bytes: image.bytes,
                    content_type: image.content_type,
                    kind: AttachmentKind::Image,
                    extension: Some(image.extension),
                    width: Some(image.width),
                    height: Some(image.height),
                    pages: None,
                    thumbnail: Some(image.thumbnail),
                })
            }
            Recognised::Pdf => {
                let (bytes, pages) = tokio::task::spawn_blocking(move || {
                    inspect::pdf_pages(&bytes, &limits).map(|pages| (bytes, pages))
                })
                .await??;
                Ok(Prepared {
                    bytes,
                    content_type: "application/pdf",
                    kind: AttachmentKind::Pdf,
                    extension: Some("pdf"),
                    width: None,
                    height: None,
                    pages: Some(pages),
                    thumbnail: None,
                })
            }
            Recognised::Text { content_type } => Ok(Prepared {
                bytes,
                content_type,
                kind: AttachmentKind::Text,
                extension: None,
                width: None,
                height: None,
                pages: None,
                thumbnail: None,
            }),
        }
    }

    /// Refuses, with the plan's sentence, `bytes` more than the user's plan has left.
    async fn check_storage(&self, user_id: Uuid, bytes: usize) -> Result<(), AttachmentError> {
        let Some(billing) = &self.billing else { return Ok(()) };
        if let Some(left) = billing.storage_left(user_id).await?
            && bytes as u64 > left
        {
            return Err(AttachmentError::StorageFull(format!(
                "Your plan's storage is full: {} left. Delete files or upgrade your plan.",
                files::human_size(usize::try_from(left).unwrap_or(usize::MAX))
            )));
        }
        Ok(())
    }

    /// Writes the objects, then the row; if the row cannot be written the objects go again.
    async fn store_prepared(
        &self,
        user_id: Uuid,
        filename: &str,
        prepared: Prepared,
    ) -> Result<AttachmentView, AttachmentError> {
        let id = Uuid::new_v4();
        let size_bytes =
            i64::try_from(prepared.bytes.len()).map_err(|_| inspect::too_large_upload(&self.limits))?;
        let sha256 = Sha256::digest(&prepared.bytes).to_vec();
        let storage_key = self.store.put(user_id, &object_name(id), prepared.bytes).await?;
        let (thumbnail_key, thumbnail_size_bytes) = match prepared.thumbnail {
            Some(thumbnail) => {
                let size = i64::try_from(thumbnail.bytes.len()).unwrap_or(i64::MAX);
                match self.store.put(user_id, &thumbnail_name(id, thumbnail.extension), thumbnail.bytes).await
                {
                    Ok(key) => (Some(key), Some(size)),
                    Err(error) => {
                        self.delete_objects(user_id, &storage_key, None).await;
                        return Err(error.into());
                    }
                }
            }
            None => (None, None),
        };
        let as_i32 = |value: Option<u32>| value.and_then(|v| i32::try_from(v).ok());
        let row = AttachmentRow {
            id,
            user_id,
            message_id: None,
            filename: inspect::attachment_filename(filename, prepared.extension),
            content_type: prepared.content_type.to_owned(),
            kind: store::kind_name(prepared.kind).to_owned(),
            size_bytes,
            sha256,
            width: as_i32(prepared.width),
            height: as_i32(prepared.height),
            pages: as_i32(prepared.pages),
            storage_key,
            thumbnail_key,
            thumbnail_size_bytes,
            created_at: chrono::Utc::now(),
        };
        if let Err(error) = for_user(&self.pool, user_id, async |conn| store::insert(conn, &row).await).await
        {
            self.delete_objects(user_id, &row.storage_key, row.thumbnail_key.as_deref()).await;
            return Err(error.into());
        }
        Ok(row.view())
    }

    /// Deletes an attachment's objects, logging (not failing on) what could not be deleted.
    async fn delete_objects(&self, user_id: Uuid, key: &str, thumbnail_key: Option<&str>) {
        for key in std::iter::once(key).chain(thumbnail_key) {
            let result = match relative(user_id, key) {
                Ok(name) => self.store.delete(user_id, name).await,
                Err(error) => Err(error),
            };
            if let Err(error) = result {
                tracing::error!(storage.key = key, %error, "attachments.object_delete_failed");
            }
        }
    }

    /// A library file of the user's (`files` table), copied as a new unsent attachment (checked
    /// like any upload).
    #[tracing::instrument(name = "attachments.from_library_file", skip_all, fields(user.id = %user_id, file.id = %file_id))]
    pub async fn from_library_file(
        &self,
        user_id: Uuid,
        file_id: Uuid,
    ) -> Result<AttachmentView, AttachmentError> {
        let (record, bytes) = match files::open(&self.pool, &self.store, user_id, file_id).await {
            Ok(found) => found,
            Err(FileError::NotFound) => {
                return Err(AttachmentError::NotFound("No file with that id.".into()));
            }
            Err(error) => return Err(error.into()),
        };
        self.upload(user_id, &record.filename, bytes).await
    }

    /// The user's unsent attachments with these ids, in the given order (an id given twice
    /// counts once). If any is not the user's or was already sent: [`AttachmentError::NotFound`]
    /// with a sentence. Chat checks their kinds against the chosen model.
    #[tracing::instrument(name = "attachments.unsent", skip_all, fields(user.id = %user_id, attachments = ids.len()))]
    pub async fn unsent(&self, user_id: Uuid, ids: &[Uuid]) -> Result<Vec<AttachmentView>, AttachmentError> {
        let mut seen = HashSet::new();
        let ids: Vec<Uuid> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows =
            for_user(&self.pool, user_id, async |conn| store::of_user(conn, user_id, &ids).await).await?;
        let by_id: HashMap<Uuid, AttachmentRow> = rows.into_iter().map(|row| (row.id, row)).collect();
        ids.iter()
            .map(|id| match by_id.get(id) {
                Some(row) if row.message_id.is_none() => Ok(row.view()),
                _ => Err(AttachmentError::NotFound(
                    "An attachment of this message is gone or was already sent; attach the file again."
                        .into(),
                )),
            })
            .collect()
    }

    /// Inside the chat's transaction for the user (row-level security already set): gives the
    /// unsent attachments `ids` to the user's message `message_id`. Fails (`RowNotFound`) unless
    /// every one was still unsent, so two sends can never take the same attachment.
    pub async fn claim(
        tx: &mut sqlx::PgConnection,
        message_id: Uuid,
        ids: &[Uuid],
    ) -> Result<(), sqlx::Error> {
        store::claim(tx, message_id, ids).await
    }

    /// The attachments of these messages (for history), each message's in upload order; a
    /// message without any is absent. On a connection acting for the user.
    pub async fn of_messages(
        conn: &mut sqlx::PgConnection,
        message_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<AttachmentView>>, sqlx::Error> {
        store::of_messages(conn, message_ids).await
    }

    /// Replaces every [`ContentBlock::Attachment`] in `messages` by what the model reads: a line
    /// naming it (with the id the agent's tool takes) and an image or PDF document block, or the
    /// file's text, holding the stored bytes. One that is gone
    /// (deleted, or not the user's) becomes a sentence saying so, never a failed run; only a
    /// failing database or store is an error.
    #[tracing::instrument(name = "attachments.resolve", skip_all, fields(user.id = %user_id))]
    pub async fn resolve(&self, user_id: Uuid, messages: &mut [Message]) -> Result<(), AttachmentError> {
        let ids: Vec<Uuid> = messages
            .iter()
            .flat_map(|message| &message.content)
            .filter_map(|block| match block {
                ContentBlock::Attachment { id } => Uuid::parse_str(id).ok(),
                _ => None,
            })
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let mut blocks: HashMap<Uuid, Vec<ContentBlock>> = HashMap::new();
        if !ids.is_empty() {
            let rows =
                for_user(&self.pool, user_id, async |conn| store::of_user(conn, user_id, &ids).await).await?;
            for row in rows {
                let resolved = match self.read_object(user_id, &row.storage_key).await {
                    Ok(bytes) => {
                        resolve::blocks_for(row.id, row.kind(), &row.content_type, &row.filename, &bytes)
                    }
                    Err(StorageError::NotFound) => {
                        tracing::error!(attachment.id = %row.id, "attachments.object_missing");
                        vec![resolve::gone(Some(&row.filename))]
                    }
                    Err(error) => return Err(error.into()),
                };
                blocks.insert(row.id, resolved);
            }
        }
        for message in messages.iter_mut() {
            if !message.content.iter().any(|block| matches!(block, ContentBlock::Attachment { .. })) {
                continue;
            }
            let content = std::mem::take(&mut message.content);
            for block in content {
                match block {
                    ContentBlock::Attachment { id } => {
                        match Uuid::parse_str(&id).ok().and_then(|id| blocks.get(&id)) {
                            Some(resolved) => message.content.extend(resolved.iter().cloned()),
                            None => message.content.push(resolve::gone(None)),
                        }
                    }
                    other => message.content.push(other),
                }
            }
        }
        Ok(())
    }

    async fn read_object(&self, user_id: Uuid, key: &str) -> Result<Bytes, StorageError> {
        self.store.get(user_id, relative(user_id, key)?).await
    }

    async fn row(&self, user_id: Uuid, id: Uuid) -> Result<AttachmentRow, AttachmentError> {
        for_user(&self.pool, user_id, async |conn| store::get(conn, user_id, id).await)
            .await?
            .ok_or_else(AttachmentError::not_found)
    }

    /// An attachment of the user's (sent or not) and its bytes, for a download. The row is looked
    /// up first, as the user: what is not theirs is never fetched.
    #[tracing::instrument(name = "attachments.open", skip_all, fields(user.id = %user_id, attachment.id = %id))]
    pub async fn open(&self, user_id: Uuid, id: Uuid) -> Result<(AttachmentView, Bytes), AttachmentError> {
        let row = self.row(user_id, id).await?;
        let bytes = self.read_object(user_id, &row.storage_key).await.map_err(|error| match error {
            StorageError::NotFound => {
                tracing::error!(attachment.id = %id, "attachments.object_missing");
                AttachmentError::not_found()
            }
            other => other.into(),
        })?;
        Ok((row.view(), bytes))
    }

    /// An image attachment's preview and its content type (`image/jpeg` or `image/png`). Other
    /// kinds have none: [`AttachmentError::NotFound`].
    #[tracing::instrument(name = "attachments.thumbnail", skip_all, fields(user.id = %user_id, attachment.id = %id))]
    pub async fn thumbnail(&self, user_id: Uuid, id: Uuid) -> Result<(&'static str, Bytes), AttachmentError> {
        let row = self.row(user_id, id).await?;
        let Some(key) = row.thumbnail_key else {
            return Err(AttachmentError::NotFound("This attachment has no preview.".into()));
        };
        let bytes = self.read_object(user_id, &key).await.map_err(|error| match error {
            StorageError::NotFound => AttachmentError::NotFound("This attachment has no preview.".into()),
            other => other.into(),
        })?;
        Ok((Thumbnail::content_type_of(&key), bytes))
    }

    /// Deletes an unsent attachment (a chip's remove button): its objects, then its row, in the
    /// transaction that locked it. A sent one stays with its message: [`AttachmentError::AlreadySent`].
    #[tracing::instrument(name = "attachments.delete", skip_all, fields(user.id = %user_id, attachment.id = %id))]
    pub async fn delete(&self, user_id: Uuid, id: Uuid) -> Result<(), AttachmentError> {
        self.delete_unsent(user_id, id).await?.ok_or_else(AttachmentError::not_found).map(|_| ())
    }

    /// Deletes the attachment if it is the user's and unsent: `Some(true)`; sent: the error;
    /// not there: `None`.
    async fn delete_unsent(&self, user_id: Uuid, id: Uuid) -> Result<Option<bool>, AttachmentError> {
        for_user(&self.pool, user_id, async |conn| {
            let Some(row) = store::lock(conn, user_id, id).await? else { return Ok(None) };
            if row.message_id.is_some() {
                return Err(AttachmentError::AlreadySent);
            }
            self.store.delete(user_id, relative(user_id, &row.storage_key)?).await?;
            if let Some(key) = &row.thumbnail_key {
                self.store.delete(user_id, relative(user_id, key)?).await?;
            }
            store::delete(conn, user_id, id).await?;
            Ok(Some(true))
        })
        .await
    }

    /// Copies an attachment of the user's into their library, as a library upload of the same
    /// bytes would be: a text file becomes a document, anything else a file. `filename` renames
    /// the copy. Checked against the plan's storage and the library's size limit.
    #[tracing::instrument(name = "attachments.save_to_library", skip_all, fields(user.id = %user_id, attachment.id = %id))]
    pub async fn save_to_library(
        &self,
        user_id: Uuid,
        id: Uuid,
        filename: Option<&str>,
    ) -> Result<Uploaded, AttachmentError> {
        let (view, bytes) = self.open(user_id, id).await?;
        self.check_storage(user_id, bytes.len()).await?;
        let name = match filename.map(str::trim).filter(|name| !name.is_empty()) {
            Some(name) => name.to_owned(),
            None => view.filename,
        };
        Ok(files::upload(&self.pool, &self.store, user_id, &name, bytes, self.limits.library_max_bytes)
            .await?)
    }

    /// Deletes unsent attachments older than the limit (a day), objects then rows, each as its
    /// user. Answers how many went. Safe on several instances at once.
    #[tracing::instrument(name = "attachments.sweep_unsent", skip_all)]
    pub async fn sweep_unsent(&self) -> Result<usize, AttachmentError> {
        let mut deleted = 0;
        loop {
            let stale = store::stale_unsent(&self.pool, self.limits.unsent_lifetime, SWEEP_BATCH).await?;
            let batch = stale.len();
            let mut progressed = false;
            for (id, user_id) in stale {
                match self.delete_unsent(user_id, id).await {
                    Ok(Some(_)) => {
                        deleted += 1;
                        progressed = true;
                    }
                    // Sent or deleted meanwhile.
                    Ok(None) | Err(AttachmentError::AlreadySent) => progressed = true,
                    Err(error) => {
                        tracing::warn!(attachment.id = %id, %error, "attachments.sweep_failed");
                    }
                }
            }
            if usize::try_from(SWEEP_BATCH).is_ok_and(|full| batch < full) || !progressed {
                break;
            }
        }
        if deleted > 0 {
            tracing::info!(deleted, "attachments.swept");
        }
        Ok(deleted)
    }

    /// Sweeps every `interval` until `shutdown` (the first sweep soon after start).
    pub fn spawn_sweeper(&self, interval: Duration, shutdown: CancellationToken) {
        let attachments = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    _ = ticks.tick() => {
                        if let Err(error) = attachments.sweep_unsent().await {
                            tracing::warn!(%error, "attachments.sweep_failed");
                        }
                    }
                }
            }
        });
    }
}
