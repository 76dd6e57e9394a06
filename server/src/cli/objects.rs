//! `jarvis-server objects …`: copies every object of the configured store (the local folder or
//! the S3 bucket of `JARVIS_STORAGE…`) to and from a folder, for backups (`scripts/backup`,
//! `scripts/restore`). Objects stream through, several at a time; the folder gets a manifest
//! (key, size, SHA-256), and an import checks every object against it before writing anything
//! and again as it writes.

mod manifest;
mod transfer;

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Subcommand;
use futures::{StreamExt, TryStreamExt};
use jarvis_backend::storage::{BlobStore, StorageSettings};
use object_store::ObjectStore;
use object_store::path::Path;

use crate::config::StorageConfig;
use manifest::Entry;
use transfer::Copied;

/// The folder of a backup that holds its objects, one file per object at its key.
const OBJECTS_DIR: &str = "objects";
/// Objects copied at once.
const CONCURRENCY: usize = 8;
/// Every user's objects live under this prefix; other keys (the start-up check's marker) are
/// not users' data.
const USERS_PREFIX: &str = "users";

#[derive(Debug, Subcommand)]
pub enum ObjectsCommand {
    /// Copy every object of the store into DIR/objects and write DIR/objects.tsv (key, size,
    /// SHA-256 of each).
    Export {
        /// The backup folder (created if missing); it must not hold objects already.
        dir: PathBuf,
    },
    /// Check every object in DIR/objects against DIR/objects.tsv, then copy them into the
    /// store, checking each again as it is written.
    Import {
        /// A folder written by `export`.
        dir: PathBuf,
        /// Write even into a store that already holds users' objects: the backup's replace
        /// those with the same keys; the others stay.
        #[arg(long)]
        force: bool,
        /// Only check the backup's objects and that the store may be written; write nothing.
        #[arg(long)]
        check: bool,
    },
}

/// Runs one objects command against the store of `JARVIS_STORAGE…` (environment and `.env`).
pub async fn run(command: ObjectsCommand) -> anyhow::Result<()> {
    // A missing .env is normal; a broken one shows as the configuration it fails to give.
    let _ = dotenvy::dotenv();
    let config = StorageConfig::from_env()?;
    match command {
        ObjectsCommand::Export { dir } => export(&config.settings, &dir).await,
        ObjectsCommand::Import { dir, force, check } => import(&config.settings, &dir, force, check).await,
    }
}

async fn export(settings: &StorageSettings, dir: &FsPath) -> anyhow::Result<()> {
    if let StorageSettings::Local { root } = settings
        && !root.is_dir()
    {
        bail!("JARVIS_STORAGE_DIR {} is not a folder: nothing to back up there", root.display());
    }
    let objects_dir = dir.join(OBJECTS_DIR);
    if dir.join(manifest::FILE_NAME).exists() || is_non_empty_dir(&objects_dir) {
        bail!("{} already holds a backup's objects: export into a new folder", dir.display());
    }
    let store = open(settings)?;
    let folder = open(&StorageSettings::Local { root: objects_dir })?;

    let listed: Vec<Path> = store
        .list(None)
        .map_ok(|meta| meta.location)
        .try_collect()
        .await
        .context("cannot list the object store")?;
    let copied: Vec<Copied> = futures::stream::iter(listed)
        .map(|path| {
            let (store, folder) = (Arc::clone(&store), Arc::clone(&folder));
            async move { transfer::copy(&*store, &*folder, &path, None).await }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let vanished = copied.iter().filter(|copied| matches!(copied, Copied::Vanished)).count();
    let mut entries: Vec<Entry> = copied
        .into_iter()
        .filter_map(|copied| match copied {
            Copied::Done(entry) => Some(entry),
            Copied::Vanished => None,
        })
        .collect();
    manifest::write(dir, &mut entries)?;
    println!(
        "exported {} objects ({} bytes) to {}; {vanished} deleted while the copy ran",
        entries.len(),
        entries.iter().map(|entry| entry.size).sum::<u64>(),
        dir.join(OBJECTS_DIR).display()
    );
    Ok(())
}

async fn import(
    settings: &StorageSettings,
    dir: &FsPath,
    force: bool,
    check_only: bool,
) -> anyhow::Result<()> {
    let entries = manifest::read(dir)?;
    let objects_dir = dir.join(OBJECTS_DIR);
    if !entries.is_empty() && !objects_dir.is_dir() {
        bail!("{} is missing: the backup is incomplete", objects_dir.display());
    }
    let store = open(settings)?;
    if !force && holds_users_objects(&*store).await? {
        bail!(
            "the object store already holds users' objects: restore into an empty store, or pass \
             --force to replace the backup's objects and leave the others"
        );
    }
    let folder = open(&StorageSettings::Local { root: objects_dir })?;
    futures::stream::iter(&entries)
        .map(|entry| transfer::verify(&*folder, entry))
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await
        .context("the backup's objects do not match its manifest; nothing was written")?;
    let bytes: u64 = entries.iter().map(|entry| entry.size).sum();
    if check_only {
        println!(
            "checked {} objects ({bytes} bytes) against the manifest; the store may be written",
            entries.len()
        );
        return Ok(());
    }
    futures::stream::iter(&entries)
        .map(|entry| {
            let (store, folder) = (Arc::clone(&store), Arc::clone(&folder));
            async move { transfer::copy(&*folder, &*store, &entry.path(), Some(entry)).await }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<Copied>>()
        .await?;
    println!("imported {} objects ({bytes} bytes), each checked against the manifest", entries.len());
    Ok(())
}

fn open(settings: &StorageSettings) -> anyhow::Result<Arc<dyn ObjectStore>> {
    Ok(BlobStore::new(settings)?.whole_store())
}

async fn holds_users_objects(store: &dyn ObjectStore) -> anyhow::Result<bool> {
    match store.list(Some(&Path::from(USERS_PREFIX))).next().await {
        None | Some(Err(object_store::Error::NotFound { .. })) => Ok(false),
        Some(Ok(_)) => Ok(true),
        Some(Err(error)) => Err(error).context("cannot list the object store"),
    }
}

fn is_non_empty_dir(path: &FsPath) -> bool {
    std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_some())
}
