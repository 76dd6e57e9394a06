//! The library: the user's documents (versioned texts the agent can read and change with its
//! tools) and uploaded files, and the two seen together — the panel's overview (a page, or
//! full-text search results) and the export of everything as one zip. Every function acts for
//! one user, from the session.

pub mod documents;
pub mod files;
mod views;

use std::collections::HashSet;
use std::io::Write as _;

use jarvis_types::documents as view;
use sqlx::PgPool;
use uuid::Uuid;

use self::documents::{DocumentError, Sort};
use self::files::FileError;
use crate::storage::BlobStore;
use crate::text;

/// The most documents the overview lists at once.
const PAGE: i64 = 200;
/// The most search results the overview shows.
const SEARCH_RESULTS: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error(transparent)]
    Documents(#[from] DocumentError),
    #[error(transparent)]
    Files(#[from] FileError),
    #[error("could not write the zip")]
    Zip(#[from] zip::result::ZipError),
    #[error("the zip task failed")]
    ZipTask(#[from] tokio::task::JoinError),
}

impl crate::Kinded for LibraryError {
    fn kind(&self) -> crate::ErrorKind {
        match self {
            Self::Documents(error) => error.kind(),
            Self::Files(error) => error.kind(),
            Self::Zip(_) | Self::ZipTask(_) => crate::ErrorKind::Internal,
        }
    }
}

/// The panel's contents: with a blank `query` a page of documents in `sort` order and every
/// file; otherwise the documents that match in full text, best first, and the files whose name
/// contains the query. A NUL in the query is read as a space, never an error.
pub async fn overview(
    pool: &PgPool,
    user_id: Uuid,
    sort: Sort,
    query: &str,
) -> Result<view::Library, LibraryError> {
    let query = text::nul_as_space(query);
    let query = query.trim();
    let documents = if query.is_empty() {
        let (rows, _) = documents::list(pool, user_id, None, sort, PAGE, 0).await?;
        rows.into_iter().map(view::DocumentItem::from).collect()
    } else {
        documents::search(pool, user_id, query, SEARCH_RESULTS)
            .await?
            .into_iter()
            .map(view::DocumentItem::from)
            .collect()
    };
    let needle = query.to_lowercase();
    let files = files::list(pool, user_id)
        .await?
        .into_iter()
        .filter(|file| file.filename.to_lowercase().contains(&needle))
        .map(view::FileItem::from)
        .collect();
    Ok(view::Library { documents, files })
}

/// Every document (current version) at the top of a zip, every file under `files/`.
pub async fn export_zip(pool: &PgPool, store: &BlobStore, user_id: Uuid) -> Result<Vec<u8>, LibraryError> {
    let mut entries: Vec<(String, Vec<u8>)> = documents::all(pool, user_id)
        .await?
        .into_iter()
        .map(|document| (document.filename, document.content.into_bytes()))
        .collect();
    for record in files::list(pool, user_id).await? {
        match files::open(pool, store, user_id, record.id).await {
            Ok((record, bytes)) => entries.push((format!("files/{}", record.filename), bytes.to_vec())),
            // Deleted since it was listed.
            Err(FileError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(tokio::task::spawn_blocking(move || zip_entries(entries)).await??)
}

/// Zips named entries; a name used twice gets ` (2)`, ` (3)`… before its extension.
pub fn zip_entries(entries: Vec<(String, Vec<u8>)>) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut seen = HashSet::new();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        let mut unique = name.clone();
        let mut n = 1;
        while !seen.insert(unique.to_lowercase()) {
            n += 1;
            unique = match name.rsplit_once('.') {
                Some((stem, extension)) if !stem.is_empty() => format!("{stem} ({n}).{extension}"),
                _ => format!("{name} ({n})"),
            };
        }
        writer.start_file(unique, options)?;
        writer.write_all(&bytes)?;
    }
    Ok(writer.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_in_a_zip_get_numbers() {
        let zip = zip_entries(vec![
            ("a.md".into(), b"one".to_vec()),
            ("A.md".into(), b"two".to_vec()),
            ("files/x.png".into(), vec![1, 2]),
        ])
        .unwrap();
        let archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut names: Vec<&str> = archive.file_names().collect();
        names.sort_unstable();
        assert_eq!(names, vec!["A (2).md", "a.md", "files/x.png"]);
    }
}
