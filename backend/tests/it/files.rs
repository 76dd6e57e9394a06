//! Object storage and uploads against a real Postgres (application role, row-level security) and
//! two real stores: the local file system, and S3 as SeaweedFS speaks it (started by
//! `./scripts/test`, which exports `JARVIS_TEST_S3_*`). Every store test runs on both.

use std::path::PathBuf;

use bytes::Bytes;
use jarvis_backend::agent::tools::ToolRegistry;
use jarvis_backend::db;
use jarvis_backend::library::documents::{self, DocumentError};
use jarvis_backend::library::files::{self, FileError, Uploaded};
use jarvis_backend::storage::{BlobStore, StorageError, StorageSettings};
use secrecy::SecretString;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const LIMIT: usize = 64 * 1024;

// ---------------------------------------------------------------------------------------------
// The stores

/// A local store in a fresh folder (not yet existing: the store creates it).
fn local_store() -> (BlobStore, PathBuf) {
    let root =
        std::env::temp_dir().join(format!("jarvis-files-test-{}", Uuid::new_v4().simple())).join("objects");
    let store = BlobStore::new(&StorageSettings::Local { root: root.clone() }).unwrap();
    assert!(root.is_dir(), "the local root is created");
    (store, root.parent().unwrap().to_owned())
}

/// The SeaweedFS settings from the environment; `None` only when `JARVIS_TEST_SKIP_S3=1`.
fn s3_settings() -> Option<StorageSettings> {
    if std::env::var("JARVIS_TEST_SKIP_S3").is_ok_and(|value| value == "1") {
        eprintln!("JARVIS_TEST_SKIP_S3=1: skipping the S3 half of this test");
        return None;
    }
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run the tests with ./scripts/test, which starts SeaweedFS and sets \
                 JARVIS_TEST_S3_*, or set JARVIS_TEST_SKIP_S3=1 to skip the S3 tests"
            )
        })
    };
    Some(StorageSettings::S3 {
        endpoint: Some(var("JARVIS_TEST_S3_ENDPOINT")),
        bucket: var("JARVIS_TEST_S3_BUCKET"),
        region: "us-east-1".into(),
        access_key_id: var("JARVIS_TEST_S3_ACCESS_KEY_ID"),
        secret_access_key: SecretString::from(var("JARVIS_TEST_S3_SECRET_ACCESS_KEY")),
        allow_http: true,
    })
}

fn s3_store() -> Option<BlobStore> {
    s3_settings().map(|settings| BlobStore::new(&settings).unwrap())
}

/// Runs each named `async fn(&BlobStore)` once on the local file system and once on S3, as
/// `<name>::on_the_local_file_system` and `<name>::on_s3`.
macro_rules! on_both_stores {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn on_the_local_file_system() {
                let (store, folder) = super::local_store();
                super::$test(&store).await;
                std::fs::remove_dir_all(folder).unwrap();
            }

            #[tokio::test]
            async fn on_s3() {
                if let Some(store) = super::s3_store() {
                    super::$test(&store).await;
                }
            }
        }
    )*};
}

on_both_stores!(
    objects_round_trip_under_the_users_prefix_only,
    a_png_named_like_text_is_stored_as_a_png_file,
    text_named_like_an_image_becomes_a_document_the_agent_can_read,
    dangerous_names_are_sanitised,
    empty_and_oversized_uploads_are_refused_and_store_nothing,
    another_user_gets_not_found_for_every_file_and_document_operation,
    deleting_a_file_removes_its_row_and_its_object,
    a_failed_insert_leaves_no_object_behind,
);

// ---------------------------------------------------------------------------------------------
// The database

use crate::support::{TestDb, test_db};

/// Rows of `table` belonging to `user_id`, counted as the owner (whom RLS does not bind).
async fn count(db: &TestDb, table: &str, user_id: Uuid) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE user_id = $1"))
        .bind(user_id)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

/// A file's storage key and checksum, read as the owner.
async fn stored(db: &TestDb, id: Uuid) -> (String, Vec<u8>) {
    sqlx::query_as("SELECT storage_key, sha256 FROM files WHERE id = $1")
        .bind(id)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Content

/// A valid 1×1 grey PNG, built by hand: signature, IHDR, one zlib-stored IDAT, IEND.
fn tiny_png() -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }
    fn chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let start = png.len();
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        let crc = crc32(&png[start..]);
        png.extend_from_slice(&crc.to_be_bytes());
    }
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    // width 1, height 1, bit depth 8, greyscale, deflate, adaptive filtering, no interlace
    chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // zlib header, one final stored block of 2 bytes (filter 0, pixel 0x80), Adler-32
    let scanline = [0u8, 0x80];
    let (a, b) = scanline.iter().fold((1u32, 0u32), |(a, b), &byte| {
        let a = (a + u32::from(byte)) % 65521;
        (a, (b + a) % 65521)
    });
    let mut idat = vec![0x78, 0x01, 0x01, 0x02, 0x00, 0xFD, 0xFF];
    idat.extend_from_slice(&scanline);
    idat.extend_from_slice(&((b << 16) | a).to_be_bytes());
    chunk(&mut png, b"IDAT", &idat);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn as_file(uploaded: Uploaded) -> files::FileRecord {
    match uploaded {
        Uploaded::File(record) => record,
        Uploaded::Document(document) => panic!("expected a file, got the document {document:?}"),
    }
}

fn as_document(uploaded: Uploaded) -> documents::Document {
    match uploaded {
        Uploaded::Document(document) => document,
        Uploaded::File(record) => panic!("expected a document, got the file {record:?}"),
    }
}

fn assert_safe_filename(name: &str) {
    assert!(
        !name.contains('/')
            && !name.contains('\\')
            && !name.contains('\0')
            && !name.contains("..")
            && !name.starts_with('.'),
        "{name:?}"
    );
    assert!(name.len() <= 120, "{name:?} is {} bytes", name.len());
}

// ---------------------------------------------------------------------------------------------
// The tests

async fn objects_round_trip_under_the_users_prefix_only(store: &BlobStore) {
    store.check().await.unwrap();
    let (alice, mallory) = (Uuid::new_v4(), Uuid::new_v4());
    let bytes = Bytes::from(tiny_png());

    let key = store.put(alice, "files/one", bytes.clone()).await.unwrap();
    assert_eq!(key, format!("users/{alice}/files/one"));
    assert_eq!(store.get(alice, "files/one").await.unwrap(), bytes);
    assert_eq!(store.list(alice).await.unwrap(), vec![key.clone()]);

    // Another user's view of the same name is their own, empty prefix.
    assert_eq!(store.list(mallory).await.unwrap(), Vec::<String>::new());
    assert_eq!(store.get(mallory, "files/one").await, Err(StorageError::NotFound));
    store.delete(mallory, "files/one").await.unwrap();
    assert_eq!(
        store.get(alice, "files/one").await.unwrap(),
        bytes,
        "mallory's delete touched only mallory's prefix"
    );
    for escape in
        [format!("../{alice}/files/one"), "files/../../x".into(), "/files/one".into(), String::new()]
    {
        assert!(matches!(store.get(mallory, &escape).await, Err(StorageError::InvalidName(_))), "{escape:?}");
        assert!(
            matches!(store.put(mallory, &escape, bytes.clone()).await, Err(StorageError::InvalidName(_))),
            "{escape:?}"
        );
    }

    // Replacing, then deleting (twice: a retried delete is harmless).
    store.put(alice, "files/one", Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(store.get(alice, "files/one").await.unwrap(), Bytes::from_static(b"second"));
    store.delete(alice, "files/one").await.unwrap();
    store.delete(alice, "files/one").await.unwrap();
    assert_eq!(store.get(alice, "files/one").await, Err(StorageError::NotFound));
    assert_eq!(store.list(alice).await.unwrap(), Vec::<String>::new());

    // Everything of one user goes at once, nobody else's.
    store.put(alice, "files/a", bytes.clone()).await.unwrap();
    store.put(alice, "audio/b.mp3", bytes.clone()).await.unwrap();
    store.put(mallory, "files/a", bytes.clone()).await.unwrap();
    store.delete_user(alice).await.unwrap();
    assert_eq!(store.list(alice).await.unwrap(), Vec::<String>::new());
    assert_eq!(store.list(mallory).await.unwrap(), vec![format!("users/{mallory}/files/a")]);
    store.delete_user(mallory).await.unwrap();
}

#[tokio::test]
async fn s3_refuses_wrong_credentials() {
    let Some(StorageSettings::S3 { bucket, endpoint, region, access_key_id, secret_access_key, allow_http }) =
        s3_settings()
    else {
        return;
    };
    let good = BlobStore::new(&StorageSettings::S3 {
        bucket: bucket.clone(),
        endpoint: endpoint.clone(),
        region: region.clone(),
        access_key_id: access_key_id.clone(),
        secret_access_key,
        allow_http,
    })
    .unwrap();
    good.check().await.unwrap();
    let user = Uuid::new_v4();
    good.put(user, "files/kept", Bytes::from_static(b"data")).await.unwrap();

    // A wrong secret fails the signature check; an unknown key id is refused outright.
    for (key_id, secret, code) in [
        (access_key_id.as_str(), "not-the-secret-key", "SignatureDoesNotMatch"),
        ("NOSUCHKEY", "whatever", "InvalidAccessKeyId"),
    ] {
        let wrong = BlobStore::new(&StorageSettings::S3 {
            bucket: bucket.clone(),
            endpoint: endpoint.clone(),
            region: region.clone(),
            access_key_id: key_id.to_owned(),
            secret_access_key: SecretString::from(secret),
            allow_http,
        })
        .unwrap();
        for refused in [
            wrong.check().await,
            wrong.get(user, "files/kept").await.map(drop),
            wrong.put(user, "files/other", Bytes::from_static(b"x")).await.map(drop),
            wrong.delete(user, "files/kept").await,
        ] {
            assert!(
                matches!(&refused, Err(StorageError::Denied(message)) if message.contains("403") && message.contains(code)),
                "{key_id}: {refused:?}"
            );
        }
    }
    assert_eq!(good.list(user).await.unwrap(), vec![format!("users/{user}/files/kept")]);
    good.delete_user(user).await.unwrap();
}

async fn a_png_named_like_text_is_stored_as_a_png_file(store: &BlobStore) {
    let db = test_db().await;
    let user = db.user().await.user_id;
    let png = tiny_png();

    let record = as_file(
        files::upload(&db.app, store, user, "notes.txt", Bytes::from(png.clone()), LIMIT).await.unwrap(),
    );
    assert_eq!(record.content_type, "image/png");
    assert_eq!(record.filename, "notes.png");
    assert_eq!(record.size_bytes, i64::try_from(png.len()).unwrap());

    let (key, sha256) = stored(&db, record.id).await;
    assert_eq!(key, format!("users/{user}/files/{}", record.id));
    assert!(key.starts_with(&format!("users/{user}/")));
    assert_eq!(sha256, Sha256::digest(&png).to_vec());
    assert_eq!(store.list(user).await.unwrap(), vec![key]);

    let (opened, bytes) = files::open(&db.app, store, user, record.id).await.unwrap();
    assert_eq!((opened, bytes.to_vec()), (record.clone(), png));
    assert_eq!(files::get(&db.app, user, record.id).await.unwrap(), record);
    assert_eq!(files::list(&db.app, user).await.unwrap(), vec![record]);
    assert_eq!(count(&db, "documents", user).await, 0);
    store.delete_user(user).await.unwrap();
    db.drop().await;
}

async fn text_named_like_an_image_becomes_a_document_the_agent_can_read(store: &BlobStore) {
    let db = test_db().await;
    let agent = db.user().await;
    let user = agent.user_id;

    let photo = "Meeting notes: the espresso machine arrives on Tuesday.";
    let document = as_document(
        files::upload(&db.app, store, user, "photo.png", Bytes::from(photo), LIMIT).await.unwrap(),
    );
    assert_eq!((document.title.as_str(), document.kind.as_str()), ("photo", "text"));
    assert_eq!(document.filename, "photo.txt");
    assert_eq!((document.content.as_str(), document.version), (photo, 1));
    let versions = documents::versions(&db.app, user, document.id).await.unwrap();
    assert_eq!(versions[0].author, "user");

    let markdown = as_document(
        files::upload(&db.app, store, user, "Plan.md", Bytes::from("\u{feff}# Plan\n\n- one"), LIMIT)
            .await
            .unwrap(),
    );
    assert_eq!((markdown.kind.as_str(), markdown.content.as_str()), ("markdown", "# Plan\n\n- one"));
    let code = as_document(
        files::upload(&db.app, store, user, "main.rs", Bytes::from("fn main() {}\n"), LIMIT).await.unwrap(),
    );
    assert_eq!(
        (code.kind.as_str(), code.language.as_deref(), code.filename.as_str()),
        ("code", Some("rust"), "main.rs")
    );

    assert_eq!(count(&db, "files", user).await, 0);
    assert_eq!(store.list(user).await.unwrap(), Vec::<String>::new(), "text never reaches the object store");

    // The agent reads and finds uploaded documents with its tools.
    let mut tools = ToolRegistry::standard();
    documents::tools::register(&mut tools, db.app.clone(), None);
    let read: Value = serde_json::from_str(
        &tools.call(agent, "read_document", json!({"id": document.id})).await.unwrap().content,
    )
    .unwrap();
    assert_eq!(read["content"], photo);
    let found: Value = serde_json::from_str(
        &tools.call(agent, "search_documents", json!({"query": "espresso"})).await.unwrap().content,
    )
    .unwrap();
    assert_eq!(found["results"][0]["id"], json!(document.id), "{found}");
    db.drop().await;
}

async fn dangerous_names_are_sanitised(store: &BlobStore) {
    let db = test_db().await;
    let user = db.user().await.user_id;
    let png = Bytes::from(tiny_png());
    let long = format!("{}.png", "ü".repeat(500));

    for (raw, expected) in [
        ("../../etc/passwd", Some("passwd.png")),
        ("..\\..\\windows\\system.ini", Some("system.png")),
        ("evil\0name.png", Some("evil-name.png")),
        ("con:aux*?\"<>|.png", Some("con-aux.png")),
        ("  ...  ", Some("document.png")),
        ("Fotos für Oma 🚀.png", Some("Fotos für Oma 🚀.png")),
        (long.as_str(), None),
    ] {
        let record = as_file(files::upload(&db.app, store, user, raw, png.clone(), LIMIT).await.unwrap());
        assert_safe_filename(&record.filename);
        match expected {
            Some(expected) => assert_eq!(record.filename, expected, "{raw:?}"),
            None => assert!(
                record.filename.starts_with('ü') && record.filename.ends_with(".png"),
                "{}",
                record.filename
            ),
        }
        let (key, _) = stored(&db, record.id).await;
        assert_eq!(key, format!("users/{user}/files/{}", record.id), "the name never reaches the key");
    }

    let document = as_document(
        files::upload(&db.app, store, user, "../../etc/passwd", Bytes::from("root:x:0:0"), LIMIT)
            .await
            .unwrap(),
    );
    assert_eq!((document.title.as_str(), document.filename.as_str()), ("passwd", "passwd.txt"));
    let document = as_document(
        files::upload(&db.app, store, user, "a\0b/../.md", Bytes::from("# hi"), LIMIT).await.unwrap(),
    );
    assert_safe_filename(&document.filename);
    assert_safe_filename(&document.title);
    store.delete_user(user).await.unwrap();
    db.drop().await;
}

async fn empty_and_oversized_uploads_are_refused_and_store_nothing(store: &BlobStore) {
    let db = test_db().await;
    let user = db.user().await.user_id;
    let limit = 1024;
    let mut big_png = tiny_png();
    big_png.resize(limit + 1, 0);

    for (name, bytes, expected) in [
        ("empty.png", Bytes::new(), FileError::Empty),
        ("empty.txt", Bytes::new(), FileError::Empty),
        ("big.png", Bytes::from(big_png), FileError::TooLarge { limit }),
        ("big.txt", Bytes::from("a".repeat(limit + 1)), FileError::TooLarge { limit }),
    ] {
        assert_eq!(files::upload(&db.app, store, user, name, bytes, limit).await, Err(expected), "{name}");
    }
    assert_eq!(
        FileError::TooLarge { limit }.to_string(),
        "The file is too large: uploads are limited to 1 KiB."
    );
    assert_eq!((count(&db, "files", user).await, count(&db, "documents", user).await), (0, 0));
    assert_eq!(store.list(user).await.unwrap(), Vec::<String>::new());

    // Text within the upload limit but beyond a document's is refused as clearly.
    let huge = "a".repeat(documents::MAX_CONTENT_BYTES + 1);
    let refused = files::upload(&db.app, store, user, "huge.txt", Bytes::from(huge), usize::MAX).await;
    assert!(
        matches!(&refused, Err(FileError::Invalid(message)) if message.contains("limited")),
        "{refused:?}"
    );
    assert_eq!(count(&db, "documents", user).await, 0);

    // Exactly at the limit is fine.
    let mut at_limit = tiny_png();
    at_limit.resize(limit, 0);
    as_file(files::upload(&db.app, store, user, "ok.png", Bytes::from(at_limit), limit).await.unwrap());
    assert_eq!(store.list(user).await.unwrap().len(), 1);
    store.delete_user(user).await.unwrap();
    db.drop().await;
}

async fn another_user_gets_not_found_for_every_file_and_document_operation(store: &BlobStore) {
    let db = test_db().await;
    let alice = db.user().await.user_id;
    let mallory = db.user().await.user_id;
    let png = tiny_png();
    let file = as_file(
        files::upload(&db.app, store, alice, "secret.png", Bytes::from(png.clone()), LIMIT).await.unwrap(),
    );
    let document = as_document(
        files::upload(&db.app, store, alice, "diary.txt", Bytes::from("secret thoughts"), LIMIT)
            .await
            .unwrap(),
    );

    assert_eq!(files::get(&db.app, mallory, file.id).await, Err(FileError::NotFound));
    assert_eq!(files::open(&db.app, store, mallory, file.id).await, Err(FileError::NotFound));
    assert_eq!(files::delete(&db.app, store, mallory, file.id).await, Err(FileError::NotFound));
    assert_eq!(files::list(&db.app, mallory).await.unwrap(), vec![]);
    assert_eq!(store.get(mallory, &format!("files/{}", file.id)).await, Err(StorageError::NotFound));
    assert_eq!(documents::read(&db.app, mallory, document.id).await, Err(DocumentError::NotFound));
    assert_eq!(documents::delete(&db.app, mallory, document.id).await, Err(DocumentError::NotFound));

    // Row-level security hides every file from a transaction acting for nobody, or for mallory,
    // even with no WHERE at all.
    let unscoped: i64 = sqlx::query_scalar("SELECT count(*) FROM files").fetch_one(&db.app).await.unwrap();
    assert_eq!(unscoped, 0);
    let mut tx = db::user_transaction(&db.app, mallory).await.unwrap();
    let as_mallory: i64 = sqlx::query_scalar("SELECT count(*) FROM files").fetch_one(&mut *tx).await.unwrap();
    assert_eq!(as_mallory, 0);
    let stolen = sqlx::query("UPDATE files SET user_id = $1").bind(mallory).execute(&mut *tx).await.unwrap();
    assert_eq!(stolen.rows_affected(), 0);
    tx.rollback().await.unwrap();

    // Alice still has everything.
    let (record, bytes) = files::open(&db.app, store, alice, file.id).await.unwrap();
    assert_eq!((record, bytes.to_vec()), (file.clone(), png));
    assert_eq!(store.list(alice).await.unwrap(), vec![format!("users/{alice}/files/{}", file.id)]);
    assert_eq!(documents::read(&db.app, alice, document.id).await.unwrap().content, "secret thoughts");
    store.delete_user(alice).await.unwrap();
    db.drop().await;
}

async fn deleting_a_file_removes_its_row_and_its_object(store: &BlobStore) {
    let db = test_db().await;
    let user = db.user().await.user_id;
    let kept = as_file(
        files::upload(&db.app, store, user, "kept.png", Bytes::from(tiny_png()), LIMIT).await.unwrap(),
    );
    let gone = as_file(
        files::upload(&db.app, store, user, "gone.pdf", Bytes::from("%PDF-1.4\n%%EOF\n"), LIMIT)
            .await
            .unwrap(),
    );
    assert_eq!(gone.content_type, "application/pdf");
    assert_eq!(store.list(user).await.unwrap().len(), 2);

    files::delete(&db.app, store, user, gone.id).await.unwrap();
    assert_eq!(files::get(&db.app, user, gone.id).await, Err(FileError::NotFound));
    assert_eq!(files::open(&db.app, store, user, gone.id).await, Err(FileError::NotFound));
    assert_eq!(files::delete(&db.app, store, user, gone.id).await, Err(FileError::NotFound));
    assert_eq!(files::list(&db.app, user).await.unwrap(), vec![kept.clone()]);
    assert_eq!(store.list(user).await.unwrap(), vec![format!("users/{user}/files/{}", kept.id)]);
    store.delete_user(user).await.unwrap();
    db.drop().await;
}

async fn a_failed_insert_leaves_no_object_behind(store: &BlobStore) {
    let db = test_db().await;
    // No such user: the row cannot be inserted (foreign key), after the object was written.
    let ghost = Uuid::new_v4();
    let failed = files::upload(&db.app, store, ghost, "x.png", Bytes::from(tiny_png()), LIMIT).await;
    assert!(matches!(failed, Err(FileError::Internal(_))), "{failed:?}");
    assert_eq!(store.list(ghost).await.unwrap(), Vec::<String>::new());
    assert_eq!(count(&db, "files", ghost).await, 0);
    db.drop().await;
}
