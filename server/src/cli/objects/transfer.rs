//! Moving one object between two stores as a stream, hashing it on the way: small objects in
//! one request, large ones as a multipart upload that is aborted (leaving nothing) when the
//! object turns out not to be what the manifest says.

use anyhow::{Context, bail};
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::{Digest, Sha256};

use super::manifest::{self, Entry};

/// Objects up to this size are read whole and written in one request; larger ones stream in
/// parts of this size (S3 wants at least 5 MiB per part but the last).
const PART_BYTES: usize = 8 * 1024 * 1024;
/// Parts of one object in flight at once.
const PARTS_IN_FLIGHT: usize = 2;

/// What happened to one object.
pub enum Copied {
    Done(Entry),
    /// Listed, then gone before it could be read: deleted while the copy ran.
    Vanished,
}

/// Copies `path` from `from` to `to`, streaming, and returns its size and SHA-256. With
/// `expected`, an object whose size or checksum differ is refused and nothing of it is written.
pub async fn copy(
    from: &dyn ObjectStore,
    to: &dyn ObjectStore,
    path: &Path,
    expected: Option<&Entry>,
) -> anyhow::Result<Copied> {
    let key = path.to_string();
    manifest::check_key(&key)?;
    let got = match from.get(path).await {
        Ok(got) => got,
        Err(object_store::Error::NotFound { .. }) if expected.is_none() => return Ok(Copied::Vanished),
        Err(error) => return Err(error).with_context(|| format!("cannot read {key}")),
    };
    let listed_size = got.meta.size;
    let mut stream = got.into_stream();
    let mut hash = Hashing::default();
    if listed_size <= PART_BYTES as u64 {
        let mut chunks = Vec::new();
        while let Some(chunk) = stream.try_next().await.with_context(|| format!("cannot read {key}"))? {
            hash.update(&chunk);
            chunks.push(chunk);
        }
        let entry = hash.finish(key, listed_size, expected)?;
        to.put(path, chunks.into_iter().collect::<PutPayload>())
            .await
            .with_context(|| format!("cannot write {}", entry.key))?;
        return Ok(Copied::Done(entry));
    }
    let upload = to.put_multipart(path).await.with_context(|| format!("cannot write {key}"))?;
    let mut upload = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
    let streamed: anyhow::Result<()> = async {
        while let Some(chunk) = stream.try_next().await.with_context(|| format!("cannot read {key}"))? {
            hash.update(&chunk);
            upload.wait_for_capacity(PARTS_IN_FLIGHT).await.with_context(|| format!("cannot write {key}"))?;
            upload.put(chunk);
        }
        Ok(())
    }
    .await;
    match streamed.and_then(|()| hash.finish(key.clone(), listed_size, expected)) {
        Ok(entry) => {
            upload.finish().await.with_context(|| format!("cannot write {key}"))?;
            Ok(Copied::Done(entry))
        }
        Err(error) => {
            // Best effort: the error that matters is the one already in hand.
            let _ = upload.abort().await;
            Err(error)
        }
    }
}

/// Reads `entry` from `store` and checks its size and SHA-256 against the manifest.
pub async fn verify(store: &dyn ObjectStore, entry: &Entry) -> anyhow::Result<()> {
    let got = store.get(&entry.path()).await.with_context(|| format!("{} is missing", entry.key))?;
    let listed_size = got.meta.size;
    let mut stream = got.into_stream();
    let mut hash = Hashing::default();
    while let Some(chunk) = stream.try_next().await.with_context(|| format!("cannot read {}", entry.key))? {
        hash.update(&chunk);
    }
    hash.finish(entry.key.clone(), listed_size, Some(entry)).map(drop)
}

/// A SHA-256 and a byte count, fed chunk by chunk.
#[derive(Default)]
struct Hashing {
    sha256: Sha256,
    size: u64,
}

impl Hashing {
    fn update(&mut self, chunk: &[u8]) {
        self.sha256.update(chunk);
        self.size += chunk.len() as u64;
    }

    /// The object's entry, once every byte went through; an error if the bytes read are not the
    /// size the store listed, or not what `expected` says.
    fn finish(self, key: String, listed_size: u64, expected: Option<&Entry>) -> anyhow::Result<Entry> {
        let entry = Entry { key, size: self.size, sha256: format!("{:x}", self.sha256.finalize()) };
        if entry.size != listed_size {
            bail!("{}: {} bytes read, but the store lists {listed_size}", entry.key, entry.size);
        }
        if let Some(expected) = expected
            && (expected.size != entry.size || expected.sha256 != entry.sha256)
        {
            bail!(
                "{} is not the object the manifest lists ({} bytes, SHA-256 {}; the manifest says {} bytes, {})",
                entry.key,
                entry.size,
                entry.sha256,
                expected.size,
                expected.sha256
            );
        }
        Ok(entry)
    }
}
