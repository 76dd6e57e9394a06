//! The storage section: where uploaded files and other objects are kept (local disk or S3), and
//! how large an upload may be.

use jarvis_backend::storage::StorageSettings;
use secrecy::SecretString;

use super::ConfigError;
use super::parse::parse_or;

/// Where uploaded files (and other binary objects) are kept, and how big an upload may be.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `JARVIS_STORAGE`: `local` (default; `JARVIS_STORAGE_DIR`, default `data/objects`) or `s3`
    /// (`JARVIS_S3_BUCKET`, `JARVIS_S3_REGION` default `us-east-1`, `JARVIS_S3_ENDPOINT` for
    /// any S3-compatible server, `JARVIS_S3_ACCESS_KEY_ID`, `JARVIS_S3_SECRET_ACCESS_KEY`).
    pub settings: StorageSettings,
    /// `JARVIS_UPLOAD_MAX_BYTES`: the largest file a user may upload (default 10 MiB).
    pub upload_max_bytes: usize,
}

impl StorageConfig {
    /// Reads only the storage variables from the process environment (blanks count as unset),
    /// for operator commands that need no database (`jarvis-server objects`).
    pub fn from_env() -> Result<Self, ConfigError> {
        read(&|name: &str| std::env::var(name).ok().filter(|value| !value.trim().is_empty()))
    }
}

pub(super) fn read(get: &impl Fn(&str) -> Option<String>) -> Result<StorageConfig, ConfigError> {
    let settings = match get("JARVIS_STORAGE").as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("local") => StorageSettings::Local {
            root: get("JARVIS_STORAGE_DIR").unwrap_or_else(|| "data/objects".to_owned()).into(),
        },
        Some("s3") => s3(get)?,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: "JARVIS_STORAGE",
                reason: format!("expected `local` or `s3`, got `{other}`"),
            });
        }
    };
    Ok(StorageConfig {
        settings,
        upload_max_bytes: parse_or(
            "JARVIS_UPLOAD_MAX_BYTES",
            get("JARVIS_UPLOAD_MAX_BYTES"),
            10 * 1024 * 1024,
        )?,
    })
}

fn s3(get: &impl Fn(&str) -> Option<String>) -> Result<StorageSettings, ConfigError> {
    let endpoint = get("JARVIS_S3_ENDPOINT");
    Ok(StorageSettings::S3 {
        bucket: get("JARVIS_S3_BUCKET").ok_or(ConfigError::Missing {
            name: "JARVIS_S3_BUCKET",
            hint: "name the bucket that holds Jarvis' objects",
        })?,
        region: get("JARVIS_S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
        allow_http: endpoint.as_deref().is_some_and(|e| e.starts_with("http://")),
        endpoint,
        access_key_id: get("JARVIS_S3_ACCESS_KEY_ID").ok_or(ConfigError::Missing {
            name: "JARVIS_S3_ACCESS_KEY_ID",
            hint: "the access key of a user allowed to read and write the bucket",
        })?,
        secret_access_key: get("JARVIS_S3_SECRET_ACCESS_KEY").map(SecretString::from).ok_or(
            ConfigError::Missing {
                name: "JARVIS_S3_SECRET_ACCESS_KEY",
                hint: "the secret key that goes with JARVIS_S3_ACCESS_KEY_ID",
            },
        )?,
    })
}

#[cfg(test)]
mod tests {
    use jarvis_backend::storage::StorageSettings;

    use crate::config::tests::{APP_DB, DB, config_from};

    #[test]
    fn storage_is_local_by_default_and_s3_needs_its_bucket_and_keys() {
        let config = config_from(&[DB, APP_DB]).unwrap();
        assert!(
            matches!(config.storage.settings, StorageSettings::Local { ref root } if root.ends_with("data/objects"))
        );
        assert_eq!(config.storage.upload_max_bytes, 10 * 1024 * 1024);

        let error = config_from(&[DB, APP_DB, ("JARVIS_STORAGE", "s3")]).unwrap_err().to_string();
        assert!(error.starts_with("JARVIS_S3_BUCKET is not set"), "{error}");
        let config = config_from(&[
            DB,
            APP_DB,
            ("JARVIS_STORAGE", "S3"),
            ("JARVIS_S3_BUCKET", "jarvis"),
            ("JARVIS_S3_ENDPOINT", "http://127.0.0.1:8333"),
            ("JARVIS_S3_ACCESS_KEY_ID", "AKID"),
            ("JARVIS_S3_SECRET_ACCESS_KEY", "very-secret-key"),
        ])
        .unwrap();
        assert!(!format!("{config:?}").contains("very-secret-key"));
        let StorageSettings::S3 { bucket, allow_http, region, .. } = config.storage.settings else {
            panic!("expected S3")
        };
        assert_eq!((bucket.as_str(), allow_http, region.as_str()), ("jarvis", true, "us-east-1"));
        assert!(config_from(&[DB, APP_DB, ("JARVIS_STORAGE", "floppy")]).is_err());
    }
}
