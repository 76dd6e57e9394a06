//! Object storage for binary files (uploads, and later audio): one interface over the local file
//! system (the default) or any S3-compatible store, through the `object_store` crate. Every object
//! of a user lives under `users/{user_id}/`, and the only way in is a user id plus a name relative
//! to that prefix, so one user's key can never reach into another's. The user id must always come
//! from the verified session, never from a path, a message or a tool argument. What the objects
//! are (names, types, sizes) is recorded in Postgres; the store holds only the bytes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

/// Where the objects live. Built by the server's configuration.
#[derive(Debug, Clone)]
pub enum StorageSettings {
    /// A folder on the local disk (created if missing). Fine for one instance; several instances
    /// need a shared store.
    Local { root: PathBuf },
    /// An S3-compatible store: AWS S3 itself (no endpoint), or MinIO, SeaweedFS, R2… at `endpoint`.
    S3 {
        bucket: String,
        /// `https://…` (or `http://…` with `allow_http`); `None` for AWS S3.
        endpoint: Option<String>,
        region: String,
        access_key_id: String,
        secret_access_key: SecretString,
        /// Allows a plain-HTTP endpoint (a store on localhost, in tests).
        allow_http: bool,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StorageError {
    #[error("no such object")]
    NotFound,
    /// A name that is not a plain relative key (empty segment, `.`/`..`, odd characters).
    #[error("invalid object name {0:?}")]
    InvalidName(String),
    #[error("object storage is misconfigured: {0}")]
    Config(String),
    /// The store refused the credentials or the request (HTTP 401/403 from S3).
    #[error("object storage refused access: {0}")]
    Denied(String),
    /// The store failed or could not be reached.
    #[error("object storage: {0}")]
    Backend(String),
}

impl crate::Kinded for StorageError {
    fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind;
        match self {
            Self::NotFound => ErrorKind::NotFound,
            Self::InvalidName(_) => ErrorKind::Invalid,
            Self::Config(_) | Self::Denied(_) => ErrorKind::Internal,
            Self::Backend(_) => ErrorKind::Unavailable,
        }
    }
}

impl From<object_store::Error> for StorageError {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => Self::NotFound,
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
                Self::Denied(error.to_string())
            }
            other => Self::Backend(other.to_string()),
        }
    }
}

/// How long one request to a remote store may take, and how often a failed one is retried: a
/// store that is down should fail a request in seconds, not minutes.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_RETRIES: usize = 3;
const RETRY_TIMEOUT: Duration = Duration::from_secs(20);

/// The object written by [`BlobStore::check`], outside every user's prefix.
const CHECK_KEY: &str = "system/health-check";

/// The blob store: cheap to clone, shared by every request.
#[derive(Debug, Clone)]
pub struct BlobStore {
    inner: Arc<dyn ObjectStore>,
}

impl BlobStore {
    /// Opens the store that `settings` describe. Creates a local root that does not exist yet;
    /// does not contact a remote store (see [`BlobStore::check`]).
    pub fn new(settings: &StorageSettings) -> Result<Self, StorageError> {
        let inner: Arc<dyn ObjectStore> = match settings {
            StorageSettings::Local { root } => {
                std::fs::create_dir_all(root).map_err(|error| {
                    StorageError::Config(format!("cannot create {}: {error}", root.display()))
                })?;
                let store = LocalFileSystem::new_with_prefix(root)
                    .map_err(|error| StorageError::Config(error.to_string()))?
                    // Deleting a user's last object removes the folders it leaves empty.
                    .with_automatic_cleanup(true);
                Arc::new(store)
            }
            StorageSettings::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key.expose_secret())
                    .with_client_options(
                        ClientOptions::new()
                            .with_timeout(REQUEST_TIMEOUT)
                            .with_connect_timeout(CONNECT_TIMEOUT)
                            .with_allow_http(*allow_http),
                    )
                    .with_retry(RetryConfig {
                        max_retries: MAX_RETRIES,
                        retry_timeout: RETRY_TIMEOUT,
                        ..RetryConfig::default()
                    });
                if let Some(endpoint) = endpoint {
                    // Self-hosted stores rarely have a DNS name per bucket: address the bucket
                    // in the path (`endpoint/bucket/key`).
                    builder = builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false);
                }
                Arc::new(builder.build().map_err(|error| StorageError::Config(error.to_string()))?)
            }
        };
        Ok(Self { inner })
    }

    /// The full key of `name` in the prefix of `user_id`: `users/{user_id}/{name}`. `name` is a
    /// relative key of `/`-separated segments of ASCII letters, digits, `-`, `_` and `.` (never
    /// `.` or `..` alone), so the result is always inside the user's prefix.
    pub fn key(user_id: Uuid, name: &str) -> Result<String, StorageError> {
        let valid = !name.is_empty()
            && name.len() <= 512
            && name.split('/').all(|segment| {
                !segment.is_empty()
                    && segment != "."
                    && segment != ".."
                    && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            });
        if valid {
            Ok(format!("{}{name}", Self::user_prefix(user_id)))
        } else {
            Err(StorageError::InvalidName(name.to_owned()))
        }
    }

    /// `users/{user_id}/`: everything of one user, and nothing of anyone else.
    pub fn user_prefix(user_id: Uuid) -> String {
        format!("users/{user_id}/")
    }

    fn path(user_id: Uuid, name: &str) -> Result<Path, StorageError> {
        let key = Self::key(user_id, name)?;
        Path::parse(&key).map_err(|_| StorageError::InvalidName(name.to_owned()))
    }

    /// Stores `bytes` as `name` of `user_id` (replacing what was there) and returns the full key.
    #[tracing::instrument(name = "storage.put", skip_all, fields(user.id = %user_id, object.name = name, object.size = bytes.len()))]
    pub async fn put(&self, user_id: Uuid, name: &str, bytes: Bytes) -> Result<String, StorageError> {
        let path = Self::path(user_id, name)?;
        self.inner.put(&path, PutPayload::from(bytes)).await?;
        Ok(path.to_string())
    }

    /// The bytes of `name` of `user_id`, or [`StorageError::NotFound`].
    #[tracing::instrument(name = "storage.get", skip_all, fields(user.id = %user_id, object.name = name))]
    pub async fn get(&self, user_id: Uuid, name: &str) -> Result<Bytes, StorageError> {
        let path = Self::path(user_id, name)?;
        Ok(self.inner.get(&path).await?.bytes().await?)
    }

    /// Deletes `name` of `user_id`. Deleting what is not there succeeds (every store agrees on
    /// that only this way), so a retried delete is harmless.
    #[tracing::instrument(name = "storage.delete", skip_all, fields(user.id = %user_id, object.name = name))]
    pub async fn delete(&self, user_id: Uuid, name: &str) -> Result<(), StorageError> {
        let path = Self::path(user_id, name)?;
        match self.inner.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    /// The full keys of every object of `user_id`, in no particular order.
    #[tracing::instrument(name = "storage.list", skip_all, fields(user.id = %user_id))]
    pub async fn list(&self, user_id: Uuid) -> Result<Vec<String>, StorageError> {
        let prefix = Path::from(format!("users/{user_id}"));
        let objects: Vec<_> = match self.inner.list(Some(&prefix)).try_collect().await {
            Ok(objects) => objects,
            // A local store without the user's folder yet.
            Err(object_store::Error::NotFound { .. }) => Vec::new(),
            Err(error) => return Err(error.into()),
        };
        Ok(objects.into_iter().map(|meta| meta.location.to_string()).collect())
    }

    /// Deletes every object of `user_id` (when the account goes).
    #[tracing::instrument(name = "storage.delete_user", skip_all, fields(user.id = %user_id))]
    pub async fn delete_user(&self, user_id: Uuid) -> Result<(), StorageError> {
        for key in self.list(user_id).await? {
            match self.inner.delete(&Path::from(key)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
        Ok(())
    }

    /// The whole store, every key of every user, for the operator's backup command
    /// (`jarvis-server objects`) only: nothing a request reaches may use it.
    pub fn whole_store(&self) -> Arc<dyn ObjectStore> {
        Arc::clone(&self.inner)
    }

    /// Proves at start-up that the store is reachable, that the credentials are accepted and that
    /// the bucket exists and takes writes, by writing a small marker object outside every user's
    /// prefix.
    #[tracing::instrument(name = "storage.check", skip_all)]
    pub async fn check(&self) -> Result<(), StorageError> {
        let marker = Bytes::from_static(b"jarvis object storage check\n");
        self.inner.put(&Path::from(CHECK_KEY), PutPayload::from(marker)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_users_prefix() {
        let user = Uuid::new_v4();
        assert_eq!(BlobStore::key(user, "files/abc-1.png").unwrap(), format!("users/{user}/files/abc-1.png"));
        for name in [
            "",
            "/",
            "/etc/passwd",
            "../other",
            "files/../../x",
            "files/./x",
            "files//x",
            "files/",
            "a\0b",
            "a\\b",
            "ü",
            "a b",
            &format!("../{}", Uuid::new_v4()),
        ] {
            assert_eq!(
                BlobStore::key(user, name),
                Err(StorageError::InvalidName(name.to_owned())),
                "{name:?}"
            );
        }
    }
}
