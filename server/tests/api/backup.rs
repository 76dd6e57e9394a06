//! Backups through the real scripts: `scripts/backup` of a running server (its database and its
//! object store, local or S3), `scripts/restore` into a fresh database and a fresh store, and the
//! copy identical table by table and object by object, served by a server started on it; a
//! deletion under way while the backup ran completed by the restore; bad input refused with
//! nothing changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use jarvis_server::startup::Application;
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_types::protocol::RunEvent;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::chat::{ask, open, send, until_finished};
use crate::helpers::{
    Client, PASSWORD, TestApp, create_database, drop_database, owner_database_url, s3_settings,
    spawn_app_with, test_config, with_database,
};
use crate::library::PNG;

/// Tables a running server writes to by itself (its instance's lease, every 2 s): a snapshot
/// taken meanwhile cannot be compared with them.
const LIVE_TABLES: &[&str] = &["instances"];

/// A second file, different bytes from [`PNG`] (a GIF, stored as a file too).
const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";

#[tokio::test]
async fn a_backup_of_a_running_server_restores_to_the_same_rows_and_objects_local_store() {
    backup_and_restore(None).await;
}

#[tokio::test]
async fn a_backup_of_a_running_server_restores_to_the_same_rows_and_objects_s3_store() {
    match s3_settings() {
        Some(s3) => backup_and_restore(Some(s3)).await,
        None => eprintln!("JARVIS_TEST_SKIP_S3=1: skipping the S3 backup test"),
    }
}

/// A server whose model answers "Noted." and whose replies are spoken (espeak-ng), so that a
/// conversation leaves a clip in the store; `storage` adds to its configuration.
async fn speaking_app(fake: &FakeAnthropic, storage: &[(&'static str, String)]) -> TestApp {
    fake.reply(Reply::text("Noted."));
    let mut extra = vec![
        ("ANTHROPIC_BASE_URL", fake.base_url()),
        ("ANTHROPIC_API_KEY", "sk-ant-test".to_owned()),
        ("JARVIS_VOICE_ENGINE", "espeak".to_owned()),
    ];
    extra.extend(storage.iter().cloned());
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(&extra).await
}

/// A user with a conversation (and its spoken clip), a document and a file on a running server;
/// its backup restored into a fresh database and a fresh local folder. With `s3`, the server
/// keeps its objects in the SeaweedFS bucket, and the restore moves them to a local folder.
async fn backup_and_restore(s3: Option<Vec<(&'static str, String)>>) {
    let fake = FakeAnthropic::start().await;
    let app = speaking_app(&fake, &s3.clone().unwrap_or_default()).await;
    let (client, email) = app.signed_in_client().await;
    let (file_id, user_id) = user_data(&app, &client).await;
    let clip_key: String = sqlx::query_scalar("SELECT storage_key FROM voice_clips WHERE status = 'ready'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();

    let backup = temp_path("backup");
    let source_env = match &s3 {
        Some(s3) => storage_env(&app.database_name, s3.clone()),
        None => local_env(&app.database_name, &objects_dir(&app.database_name)),
    };
    let before = table_checksums(&app.owner_pool).await;
    let output = script("backup", &[backup.to_str().unwrap()], &source_env).await;
    assert_success(&output);
    let after = table_checksums(&app.owner_pool).await;
    let summary: Value = serde_json::from_slice(&std::fs::read(backup.join("backup.json")).unwrap()).unwrap();
    assert_eq!(summary["tables"]["files"], 1, "{summary}");
    assert_eq!(summary["tables"]["conversations"], 1, "{summary}");
    assert_eq!(summary["tables"]["voice_clips"], 1, "{summary}");
    assert_eq!(summary["rows_whose_object_was_deleted_during_the_backup"], Value::Array(vec![]), "{summary}");
    let file_key = format!("users/{user_id}/files/{file_id}");
    let manifest = std::fs::read_to_string(backup.join("objects.tsv")).unwrap();
    assert!(
        manifest.lines().any(|line| line.starts_with(&format!("{file_key}\t{}\t", PNG.len()))),
        "{manifest}"
    );

    // Restored into a database and a folder of their own.
    let restored = create_database().await;
    let restored_objects = objects_dir(&restored);
    let output =
        script("restore", &[backup.to_str().unwrap()], &local_env(&restored, &restored_objects)).await;
    assert_success(&output);

    let restored_pool = PgPool::connect(&with_database(&owner_database_url(), &restored)).await.unwrap();
    let copy = table_checksums(&restored_pool).await;
    assert_same_tables(&before, &after, &copy);
    let objects = files_under(&restored_objects);
    match &s3 {
        // The bucket is shared with the other tests running now: this user's objects are the ones to compare.
        Some(_) => {
            let prefix = format!("users/{user_id}/");
            let mine: BTreeMap<_, _> =
                objects.into_iter().filter(|(key, _)| key.starts_with(&prefix)).collect();
            assert_eq!(mine.keys().collect::<Vec<_>>(), [&clip_key, &file_key]);
            assert_eq!(mine[&file_key], PNG);
            assert!(manifest.contains(&format!("{clip_key}\t{}\t", mine[&clip_key].len())));
        }
        None => {
            let source = files_under(&objects_dir(&app.database_name));
            assert!(source.contains_key(&file_key) && source.contains_key(&clip_key));
            assert_eq!(objects, source, "the same objects, byte for byte");
        }
    }

    // A server on the restored copy serves the user's file and conversation.
    let server = RestoredServer::start(&restored, &restored_objects).await;
    let client = server.logged_in(&email).await;
    let file = client.get(format!("{}/api/files/{file_id}", server.base)).send().await.unwrap();
    assert_eq!(file.status(), StatusCode::OK);
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);
    let conversations = server.post(&client, "/api/conversations").await;
    assert!(conversations.contains("Remember the milk"), "{conversations}");
    server.stop().await;

    restored_pool.close().await;
    drop_database(&restored).await;
    for dir in [&backup, &restored_objects] {
        std::fs::remove_dir_all(dir).unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn objects_deleted_while_the_backup_runs_are_reported_and_their_deletion_completed_by_the_restore() {
    let fake = FakeAnthropic::start().await;
    let app = speaking_app(&fake, &[]).await;
    let (client, email) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Remember the milk")).await;
    until_finished(&mut socket).await;
    let kept = upload_file(&client, "pixel.png", PNG).await;
    let deleted = upload_file(&client, "dot.gif", GIF).await;
    let user_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users").fetch_one(&app.owner_pool).await.unwrap();
    let clip_key: String = sqlx::query_scalar("SELECT storage_key FROM voice_clips WHERE status = 'ready'")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    // The state in the middle of deletions: objects gone, their rows not yet in the snapshot's
    // eyes (the app deletes a file's object inside the transaction that deletes its row, and a
    // deleted conversation's audio right after its rows).
    let deleted_key = format!("users/{user_id}/files/{deleted}");
    for key in [&deleted_key, &clip_key] {
        std::fs::remove_file(objects_dir(&app.database_name).join(key)).unwrap();
    }

    let backup = temp_path("backup");
    let output = script(
        "backup",
        &[backup.to_str().unwrap()],
        &local_env(&app.database_name, &objects_dir(&app.database_name)),
    )
    .await;
    assert_success(&output);
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("2 rows refer to objects deleted while the backup ran")
    );
    let summary: Value = serde_json::from_slice(&std::fs::read(backup.join("backup.json")).unwrap()).unwrap();
    assert_eq!(
        summary["rows_whose_object_was_deleted_during_the_backup"],
        serde_json::json!([{"table": "files", "key": deleted_key}, {"table": "voice_clips", "key": clip_key}]),
        "{summary}"
    );
    assert_eq!(summary["tables"]["files"], 2, "the dump holds both rows");

    let restored = create_database().await;
    let restored_objects = objects_dir(&restored);
    assert_success(
        &script("restore", &[backup.to_str().unwrap()], &local_env(&restored, &restored_objects)).await,
    );
    let restored_pool = PgPool::connect(&with_database(&owner_database_url(), &restored)).await.unwrap();
    let files: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT id FROM files").fetch_all(&restored_pool).await.unwrap();
    assert_eq!(files, vec![kept], "the deletion under way is completed");
    let clip: (String, Option<String>) = sqlx::query_as("SELECT status, storage_key FROM voice_clips")
        .fetch_one(&restored_pool)
        .await
        .unwrap();
    assert_eq!(
        clip,
        ("failed".to_owned(), None),
        "a clip without its audio is a failed clip, spoken again on demand"
    );

    let server = RestoredServer::start(&restored, &restored_objects).await;
    let client = server.logged_in(&email).await;
    let get = |id: uuid::Uuid| client.get(format!("{}/api/files/{id}", server.base)).send();
    assert_eq!(get(kept).await.unwrap().bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(get(deleted).await.unwrap().status(), StatusCode::NOT_FOUND);
    server.stop().await;

    restored_pool.close().await;
    drop_database(&restored).await;
    for dir in [&backup, &restored_objects] {
        std::fs::remove_dir_all(dir).unwrap();
    }
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_error_and_changes_nothing() {
    let app = spawn_app_with(&[]).await;
    let (client, _) = app.signed_in_client().await;
    let file_id = upload_file(&client, "pixel.png", PNG).await;
    let source_env = local_env(&app.database_name, &objects_dir(&app.database_name));
    let backup = temp_path("backup");
    assert_success(&script("backup", &[backup.to_str().unwrap()], &source_env).await);
    let backup_json = std::fs::read(backup.join("backup.json")).unwrap();

    // Backing up into a folder that is not empty.
    let refused = script("backup", &[backup.to_str().unwrap()], &source_env).await;
    assert_failure(&refused, "is not empty: back up into a new or empty folder");
    assert_eq!(
        std::fs::read(backup.join("backup.json")).unwrap(),
        backup_json,
        "the backup there is untouched"
    );
    assert_failure(&script("backup", &[], &source_env).await, "usage: scripts/backup DIR");

    let fresh = create_database().await;
    let fresh_objects = objects_dir(&fresh);
    let fresh_env = local_env(&fresh, &fresh_objects);
    let fresh_pool = PgPool::connect(&with_database(&owner_database_url(), &fresh)).await.unwrap();
    let nothing_changed = async || {
        let relations: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
        )
        .fetch_one(&fresh_pool)
        .await
        .unwrap();
        assert_eq!(relations, 0, "the fresh database is still empty");
        assert!(files_under(&fresh_objects).is_empty(), "the fresh store is still empty");
    };

    // A folder that does not exist, one that is no backup, and no folder at all.
    let missing = temp_path("nowhere");
    assert_failure(&script("restore", &[missing.to_str().unwrap()], &fresh_env).await, "does not exist");
    let not_a_backup = temp_path("not-a-backup");
    std::fs::create_dir_all(&not_a_backup).unwrap();
    std::fs::write(not_a_backup.join("notes.txt"), "hello").unwrap();
    assert_failure(
        &script("restore", &[not_a_backup.to_str().unwrap()], &fresh_env).await,
        "is not a backup made by scripts/backup",
    );
    assert_failure(&script("restore", &[], &fresh_env).await, "usage: scripts/restore [--force] DIR");
    // A dump pg_restore cannot read.
    for name in ["backup.json", "objects.tsv", "tables.tsv", "missing.tsv"] {
        std::fs::write(not_a_backup.join(name), "").unwrap();
    }
    std::fs::write(not_a_backup.join("database.dump"), "PGDMP but not really").unwrap();
    assert_failure(&script("restore", &[not_a_backup.to_str().unwrap()], &fresh_env).await, "cannot read");
    nothing_changed().await;

    // A damaged object: found before anything is written.
    let user_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users").fetch_one(&app.owner_pool).await.unwrap();
    let object = backup.join("objects").join(format!("users/{user_id}/files/{file_id}"));
    let mut bytes = std::fs::read(&object).unwrap();
    bytes[20] ^= 0xff;
    std::fs::write(&object, &bytes).unwrap();
    assert_failure(
        &script("restore", &[backup.to_str().unwrap()], &fresh_env).await,
        "the backup's objects do not match its manifest; nothing was written",
    );
    nothing_changed().await;
    bytes[20] ^= 0xff;
    std::fs::write(&object, &bytes).unwrap();

    // A database that is not empty: the source itself.
    let before = table_checksums(&app.owner_pool).await;
    assert_failure(&script("restore", &[backup.to_str().unwrap()], &source_env).await, "is not empty");
    assert_eq!(table_checksums(&app.owner_pool).await.get("files"), before.get("files"));
    assert_eq!(table_checksums(&app.owner_pool).await.get("users"), before.get("users"));

    // Restored once, then refused a second time; --force restores over it.
    assert_success(&script("restore", &[backup.to_str().unwrap()], &fresh_env).await);
    let restored = table_checksums(&fresh_pool).await;
    assert_failure(&script("restore", &[backup.to_str().unwrap()], &fresh_env).await, "is not empty");
    assert_success(&script("restore", &["--force", backup.to_str().unwrap()], &fresh_env).await);
    assert_eq!(table_checksums(&fresh_pool).await, restored, "--force restores the same rows again");

    fresh_pool.close().await;
    drop_database(&fresh).await;
    for dir in [&backup, &fresh_objects, &not_a_backup] {
        std::fs::remove_dir_all(dir).unwrap();
    }
    app.stop().await;
}

/// A conversation (one exchange with the fake model), a document and a file for the signed-in
/// user; the file's id and the user's.
async fn user_data(app: &TestApp, client: &Client) -> (uuid::Uuid, uuid::Uuid) {
    let mut socket = open(app.port, client).await;
    send(&mut socket, &ask(None, "Remember the milk")).await;
    let events = until_finished(&mut socket).await;
    assert!(matches!(events[0].2, RunEvent::Started { .. }));
    let document = client.upload(&[("plan.md", b"# Plan\n\n- back up\n- restore\n")]).await;
    assert_eq!(document.status(), StatusCode::OK);
    let file_id = upload_file(client, "pixel.png", PNG).await;
    let user_id = sqlx::query_scalar("SELECT id FROM users").fetch_one(&app.owner_pool).await.unwrap();
    (file_id, user_id)
}

/// Uploads one binary file; its id.
async fn upload_file(client: &Client, name: &str, bytes: &[u8]) -> uuid::Uuid {
    let response = client.upload(&[(name, bytes)]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    report["uploaded"][0]["file"]["id"].as_str().expect("stored as a file").parse().unwrap()
}

/// The local folder the test configuration gives the server of `database`.
fn objects_dir(database: &str) -> PathBuf {
    std::env::temp_dir().join(format!("jarvis-objects-{database}"))
}

fn temp_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!("jarvis-{what}-{}", uuid::Uuid::new_v4().simple()))
}

/// The server's environment for the scripts: the owner's URL of `database` and a local store.
fn local_env(database: &str, objects: &Path) -> Vec<(&'static str, String)> {
    storage_env(
        database,
        vec![("JARVIS_STORAGE", "local".to_owned()), ("JARVIS_STORAGE_DIR", objects.display().to_string())],
    )
}

fn storage_env(database: &str, storage: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut env = vec![("DATABASE_URL", with_database(&owner_database_url(), database))];
    env.extend(storage);
    env
}

/// Runs `scripts/{name}` with `args` and `env` (the storage variables not given are unset), with
/// the jarvis-server of this build.
async fn script(name: &str, args: &[&str], env: &[(&'static str, String)]) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned();
    let program = root.join("scripts").join(name);
    let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    let env = env.to_vec();
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(program);
        command.args(&args).env("JARVIS_SERVER_BIN", env!("CARGO_BIN_EXE_jarvis-server"));
        for variable in [
            "JARVIS_STORAGE",
            "JARVIS_STORAGE_DIR",
            "JARVIS_S3_BUCKET",
            "JARVIS_S3_REGION",
            "JARVIS_S3_ENDPOINT",
            "JARVIS_S3_ACCESS_KEY_ID",
            "JARVIS_S3_SECRET_ACCESS_KEY",
        ] {
            command.env_remove(variable);
        }
        command.envs(env).output().expect("the script runs")
    })
    .await
    .unwrap()
}

fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "the script failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn assert_failure(output: &Output, message: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the script should have failed:\n{stderr}");
    assert!(stderr.contains(message), "expected {message:?} in:\n{stderr}");
}

/// Rows and an MD5 of their text, table by table, of every table of the schema.
async fn table_checksums(pool: &PgPool) -> BTreeMap<String, (i64, String)> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut sums = BTreeMap::new();
    for table in tables {
        let sum: (i64, String) = sqlx::query_as(&format!(
            r#"SELECT count(*), coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM public."{table}" t"#
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        sums.insert(table, sum);
    }
    sums
}

/// The restored tables equal the source's, except those the running server changed by itself
/// while the backup ran (only [`LIVE_TABLES`] may).
fn assert_same_tables(
    before: &BTreeMap<String, (i64, String)>,
    after: &BTreeMap<String, (i64, String)>,
    restored: &BTreeMap<String, (i64, String)>,
) {
    assert_eq!(before.keys().collect::<Vec<_>>(), restored.keys().collect::<Vec<_>>(), "the same tables");
    assert!(before.len() > 15, "{before:?}");
    for (table, sum) in before {
        if after[table] != *sum {
            assert!(LIVE_TABLES.contains(&table.as_str()), "{table} changed while the backup ran");
            continue;
        }
        assert_eq!(restored[table], *sum, "table {table}");
    }
    for table in ["users", "conversations", "messages", "documents", "files", "sessions"] {
        assert!(before[table].0 > 0, "{table} has rows to compare");
    }
}

/// Every file under `dir`, by its path relative to `dir` (an object's key), with its bytes.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, found: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                let key = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                found.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut found = BTreeMap::new();
    walk(dir, dir, &mut found);
    found
}

/// A server started on a restored database and folder.
struct RestoredServer {
    base: String,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), jarvis_server::startup::StartupError>>,
}

impl RestoredServer {
    async fn start(database: &str, objects: &Path) -> Self {
        let objects = objects.display().to_string();
        let (config, _) =
            test_config(database, &[("JARVIS_STORAGE", "local"), ("JARVIS_STORAGE_DIR", objects.as_str())]);
        let application = Application::build(config).await.expect("a server starts on the restored database");
        let base = format!("http://localhost:{}", application.port());
        let stop = CancellationToken::new();
        let task = tokio::spawn(application.run_until(stop.clone().cancelled_owned()));
        Self { base, stop, task }
    }

    /// A client logged in as `email` (its password is the tests' own).
    async fn logged_in(&self, email: &str) -> reqwest::Client {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let response = client
            .post(format!("{}/login", self.base))
            .header("origin", &self.base)
            .form(&[("email", email), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["location"], "/app", "the restored account logs in");
        client
    }

    async fn post(&self, client: &reqwest::Client, path: &str) -> String {
        let response =
            client.post(format!("{}{path}", self.base)).header("origin", &self.base).send().await.unwrap();
        response.text().await.unwrap()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().expect("the restored server stops cleanly");
    }
}
