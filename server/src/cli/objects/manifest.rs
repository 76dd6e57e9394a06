//! The manifest of a backup's objects, `objects.tsv`: one line per object, `key`, `size` (bytes)
//! and `sha256` (hex) separated by tabs, sorted by key. Plain tab-separated text so that
//! `scripts/backup` and `scripts/restore` read it with `awk` and `psql \copy` as they are.

use std::collections::HashSet;
use std::path::Path as FsPath;

use anyhow::{Context, bail};
use object_store::path::Path;

/// The manifest's file name, beside the `objects` folder.
pub const FILE_NAME: &str = "objects.tsv";

/// One object of a backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub size: u64,
    /// Lowercase hex, 64 digits.
    pub sha256: String,
}

impl Entry {
    /// The key as a store path; the key was checked when the entry was made or read.
    pub fn path(&self) -> Path {
        Path::from(self.key.as_str())
    }
}

/// Refuses a key the manifest (or `psql \copy`) could not carry: a tab, a line break, a
/// backslash or another control character.
pub fn check_key(key: &str) -> anyhow::Result<()> {
    if key.is_empty() || key.chars().any(|c| c.is_control() || c == '\\') {
        bail!("the object key {key:?} holds a character a manifest line cannot carry");
    }
    Ok(())
}

/// Writes `entries` (sorted by key) to `dir/objects.tsv`, through a temporary file renamed into
/// place, so that the manifest exists only once it is whole.
pub fn write(dir: &FsPath, entries: &mut [Entry]) -> anyhow::Result<()> {
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    let text: String =
        entries.iter().map(|entry| format!("{}\t{}\t{}\n", entry.key, entry.size, entry.sha256)).collect();
    let path = dir.join(FILE_NAME);
    let partial = dir.join(format!("{FILE_NAME}.partial"));
    std::fs::write(&partial, text).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Reads and checks `dir/objects.tsv`: every line well formed, no key twice.
pub fn read(dir: &FsPath) -> anyhow::Result<Vec<Entry>> {
    let path = dir.join(FILE_NAME);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!("cannot read {} (is {} a backup made by scripts/backup?)", path.display(), dir.display())
    })?;
    let mut seen = HashSet::new();
    text.lines()
        .enumerate()
        .map(|(index, line)| {
            let entry = parse(line).with_context(|| format!("{} line {}", path.display(), index + 1))?;
            if !seen.insert(entry.key.clone()) {
                bail!("{} line {}: {} is listed twice", path.display(), index + 1, entry.key);
            }
            Ok(entry)
        })
        .collect()
}

fn parse(line: &str) -> anyhow::Result<Entry> {
    let mut fields = line.split('\t');
    let (Some(key), Some(size), Some(sha256), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        bail!("expected `key<TAB>size<TAB>sha256`, got {line:?}");
    };
    check_key(key)?;
    Path::parse(key).with_context(|| format!("{key:?} is not an object key"))?;
    let size = size.parse().with_context(|| format!("size {size:?} is not a number"))?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        bail!("{sha256:?} is not a SHA-256 in lowercase hex");
    }
    Ok(Entry { key: key.to_owned(), size, sha256: sha256.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_manifest_reads_back_and_bad_lines_are_refused() {
        let dir = std::env::temp_dir().join(format!("jarvis-manifest-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let sha = "a".repeat(64);
        let mut entries = vec![
            Entry { key: "users/b/files/2".into(), size: 7, sha256: sha.clone() },
            Entry { key: "system/health-check".into(), size: 28, sha256: sha.clone() },
        ];
        write(&dir, &mut entries).unwrap();
        let read_back = read(&dir).unwrap();
        assert_eq!(read_back, entries);
        assert_eq!(read_back[0].key, "system/health-check", "sorted by key");

        for bad in [
            "users/a\t1",
            "users/a\tone\taaaa",
            &format!("users/a\t1\t{}", "A".repeat(64)),
            &format!("users/../a\t1\t{sha}"),
            &format!("users/a\t1\t{sha}\textra"),
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        std::fs::write(dir.join(FILE_NAME), format!("k\t1\t{sha}\nk\t2\t{sha}\n")).unwrap();
        assert!(read(&dir).unwrap_err().to_string().contains("listed twice"));
        assert!(check_key("users/a\tb").is_err() && check_key("users/a\\b").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
