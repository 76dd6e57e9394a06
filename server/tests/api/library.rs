//! The library over HTTP: uploads (type sniffed, names sanitised, limits), downloads of documents,
//! versions, files and the zip of everything, the editor's server functions (a stale save is
//! refused and changes nothing) — and another user reaching none of it.

use std::io::Read as _;

use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::helpers::{plans_file, s3_settings, spawn_app, spawn_app_with};

/// The smallest valid PNG: 1×1, one transparent pixel.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00,
    0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01,
    0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

#[tokio::test]
async fn text_uploads_become_searchable_documents_and_binary_ones_files_by_their_content() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;

    // The names lie: the "photo" is text, the "notes" are a PNG.
    let response = client
        .upload(&[
            ("photo.png", b"Remember the flashlight and spare batteries."),
            ("../../etc/notes.txt", PNG),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    let uploaded = report["uploaded"].as_array().unwrap();
    assert_eq!(uploaded.len(), 2, "{report}");
    assert_eq!(uploaded[0]["type"], "document");
    assert_eq!(uploaded[0]["document"]["kind"], "text");
    assert_eq!(uploaded[1]["type"], "file");
    assert_eq!(uploaded[1]["file"]["content_type"], "image/png");
    let file_name = uploaded[1]["file"]["filename"].as_str().unwrap();
    assert!(!file_name.contains('/') && !file_name.contains(".."), "{file_name}");

    // Found by full-text search through the panel's server function.
    let (status, library) =
        client.server_fn("library", &[("sort", "updated"), ("query", "flashlight")]).await;
    assert_eq!(status, StatusCode::OK, "{library}");
    let hits = library["documents"].as_array().unwrap();
    assert_eq!(hits.len(), 1, "{library}");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("«flashlight»"), "{library}");

    // The file is served with its sniffed type, inline, and never sniffed again by the browser.
    let file_id = uploaded[1]["file"]["id"].as_str().unwrap();
    let served = client.get(&format!("/api/files/{file_id}")).await;
    assert_eq!(served.status(), StatusCode::OK);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.headers()["x-content-type-options"], "nosniff");
    assert!(served.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);
    app.stop().await;
}

#[tokio::test]
async fn refused_uploads_say_why_and_store_nothing() {
    let app = spawn_app_with(&[("JARVIS_UPLOAD_MAX_BYTES", "1000")]).await;
    let (client, _) = app.signed_in_client().await;
    let big = vec![b'a'; 1001];
    let response = client.upload(&[("big.txt", &big), ("empty.txt", b"")]).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let report: Value = response.json().await.unwrap();
    let reasons: Vec<&str> =
        report["refused"].as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 2, "{report}");
    assert!(reasons[0].contains("larger than the limit"), "{report}");
    assert!(reasons[1].to_lowercase().contains("empty"), "{report}");

    let documents: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    let files: i64 =
        sqlx::query_scalar("SELECT count(*) FROM files").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!((documents, files), (0, 0));

    // A request without any file part is a clear error too.
    let response = client
        .http
        .post(format!("{}/api/uploads", app.address))
        .header("origin", &app.address)
        .multipart(Form::new().text("note", "no file here"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    app.stop().await;
}

#[tokio::test]
async fn uploads_need_a_session_and_our_origin() {
    let app = spawn_app().await;
    let anonymous = app.client();
    let response = anonymous.upload(&[("a.txt", b"hello")]).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let (client, _) = app.signed_in_client().await;
    let response = client
        .http
        .post(format!("{}/api/uploads", app.address))
        .header("origin", "https://evil.example")
        .multipart(Form::new().part("file", Part::bytes(b"hello".to_vec()).file_name("a.txt")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let documents: i64 =
        sqlx::query_scalar("SELECT count(*) FROM documents").fetch_one(&app.owner_pool).await.unwrap();
    assert_eq!(documents, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_editor_saves_versions_a_stale_save_is_refused_and_every_version_downloads() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let report: Value =
        client.upload(&[("Résumé plan.md", b"# Plan\n\n- one\n")]).await.json().await.unwrap();
    let document = &report["uploaded"][0]["document"];
    assert_eq!(document["kind"], "markdown");
    let id = document["id"].as_str().unwrap();

    let (status, saved) = client
        .server_fn("save_document", &[("id", id), ("version", "1"), ("content", "# Plan\n\n- one\n- two\n")])
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(saved["version"], 2);

    // Saving again on top of version 1 (a stale editor) is refused and changes nothing.
    let (status, refused) =
        client.server_fn("save_document", &[("id", id), ("version", "1"), ("content", "overwrite")]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(refused.to_string().contains("changed since you opened it"), "{refused}");
    let (_, current) = client.server_fn("document", &[("id", id)]).await;
    assert_eq!(
        (current["version"].as_i64(), current["content"].as_str()),
        (Some(2), Some("# Plan\n\n- one\n- two\n"))
    );

    let (_, diff) = client.server_fn("diff_versions", &[("id", id), ("from", "1"), ("to", "2")]).await;
    let added: Vec<&str> = diff
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["change"] == "added")
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(added, vec!["- two"]);

    let download = client.get(&format!("/api/documents/{id}/download")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()["content-type"], "text/markdown; charset=utf-8");
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"R_sum_ plan.md\"; filename*=UTF-8''R%C3%A9sum%C3%A9%20plan.md"
    );
    assert_eq!(download.text().await.unwrap(), "# Plan\n\n- one\n- two\n");
    let first = client.get(&format!("/api/documents/{id}/download?version=1")).await;
    assert!(first.headers()["content-disposition"].to_str().unwrap().contains("(v1).md"));
    assert_eq!(first.text().await.unwrap(), "# Plan\n\n- one\n");
    assert_eq!(
        client.get(&format!("/api/documents/{id}/download?version=9")).await.status(),
        StatusCode::NOT_FOUND
    );

    // Restore version 1 as version 3: nothing is lost.
    let (status, restored) =
        client.server_fn("restore_version", &[("id", id), ("version", "1"), ("expected_version", "2")]).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(
        (restored["version"].as_i64(), restored["content"].as_str()),
        (Some(3), Some("# Plan\n\n- one\n"))
    );
    let (_, versions) = client.server_fn("document_versions", &[("id", id)]).await;
    assert_eq!(versions.as_array().unwrap().len(), 3);

    // A reply's card opens the version it saved: as it was then, with the version it is at now.
    let (status, at) = client.server_fn("document_version", &[("id", id), ("version", "2")]).await;
    assert_eq!(status, StatusCode::OK, "{at}");
    assert_eq!(
        (at[0]["version"].as_i64(), at[0]["content"].as_str()),
        (Some(2), Some("# Plan\n\n- one\n- two\n"))
    );
    assert_eq!(at[1], 3);
    let (_, latest) = client.server_fn("document_version", &[("id", id), ("version", "3")]).await;
    assert_eq!((latest[0]["version"].as_i64(), latest[1].as_i64()), (Some(3), Some(3)));
    let (status, missing) = client.server_fn("document_version", &[("id", id), ("version", "9")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    app.stop().await;
}

#[tokio::test]
async fn the_zip_holds_every_document_and_file() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    client.upload(&[("a.md", b"# A"), ("b.csv", b"x,y\n1,2\n"), ("pixel.bin", PNG)]).await;
    let response = client.get("/api/library.zip").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/zip");
    let bytes = response.bytes().await.unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let mut names: Vec<String> = archive.file_names().map(str::to_owned).collect();
    names.sort();
    // The extension follows the sniffed type, not the name it came with.
    assert_eq!(names, vec!["a.md", "b.csv", "files/pixel.png"]);
    let mut text = String::new();
    archive.by_name("b.csv").unwrap().read_to_string(&mut text).unwrap();
    assert_eq!(text, "x,y\n1,2\n");
    let mut png = Vec::new();
    archive.by_name("files/pixel.png").unwrap().read_to_end(&mut png).unwrap();
    assert_eq!(png, PNG);
    app.stop().await;
}

#[tokio::test]
async fn another_user_reaches_none_of_it() {
    let app = spawn_app().await;
    let (alice, _) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let report: Value = alice
        .upload(&[("secret.md", b"alice's secret plan"), ("secret.png", PNG)])
        .await
        .json()
        .await
        .unwrap();
    let document = report["uploaded"][0]["document"]["id"].as_str().unwrap().to_owned();
    let file = report["uploaded"][1]["file"]["id"].as_str().unwrap().to_owned();

    for path in [
        format!("/api/documents/{document}/download"),
        format!("/api/documents/{document}/download?version=1"),
        format!("/api/files/{file}"),
        format!("/api/files/{file}?download=1"),
    ] {
        let response = bob.get(&path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!response.text().await.unwrap().contains("secret"), "{path}");
    }
    let zip = bob.get("/api/library.zip").await.bytes().await.unwrap();
    assert_eq!(zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap().len(), 0);
    let (_, library) = bob.server_fn("library", &[("sort", "updated"), ("query", "")]).await;
    assert_eq!(library, serde_json::json!({"documents": [], "files": []}));
    let (_, found) = bob.server_fn("library", &[("sort", "updated"), ("query", "secret")]).await;
    assert_eq!(found["documents"], serde_json::json!([]));

    for (name, args) in [
        ("document", vec![("id", document.as_str())]),
        ("document_versions", vec![("id", document.as_str())]),
        ("document_version", vec![("id", document.as_str()), ("version", "1")]),
        ("diff_versions", vec![("id", document.as_str()), ("from", "1"), ("to", "1")]),
        ("save_document", vec![("id", document.as_str()), ("version", "1"), ("content", "bob was here")]),
        ("rename_document", vec![("id", document.as_str()), ("title", "pwned")]),
        ("restore_version", vec![("id", document.as_str()), ("version", "1"), ("expected_version", "1")]),
        ("delete_document", vec![("id", document.as_str())]),
        ("delete_file", vec![("id", file.as_str())]),
    ] {
        let (status, answer) = bob.server_fn(name, &args).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{name}: {answer}");
        assert!(
            answer.to_string().contains("No document") || answer.to_string().contains("No file"),
            "{name}: {answer}"
        );
    }
    // Alice still has everything, unchanged.
    let (_, mine) = alice.server_fn("document", &[("id", document.as_str())]).await;
    assert_eq!((mine["title"].as_str(), mine["version"].as_i64()), (Some("secret"), Some(1)));
    assert_eq!(alice.get(&format!("/api/files/{file}")).await.bytes().await.unwrap().as_ref(), PNG);
    app.stop().await;
}

#[tokio::test]
async fn files_live_in_an_s3_compatible_store_when_configured() {
    let Some(settings) = s3_settings() else { return };
    let extra: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&extra).await;
    let (client, _) = app.signed_in_client().await;
    let report: Value = client.upload(&[("pixel.png", PNG)]).await.json().await.unwrap();
    let id = report["uploaded"][0]["file"]["id"].as_str().expect("stored as a file").to_owned();
    let key: String =
        sqlx::query_scalar("SELECT storage_key FROM files").fetch_one(&app.owner_pool).await.unwrap();
    let user: uuid::Uuid =
        sqlx::query_scalar("SELECT user_id FROM files").fetch_one(&app.owner_pool).await.unwrap();
    assert!(key.starts_with(&format!("users/{user}/")), "{key}");
    assert_eq!(client.get(&format!("/api/files/{id}")).await.bytes().await.unwrap().as_ref(), PNG);
    let (status, _) = client.server_fn("delete_file", &[("id", id.as_str())]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(client.get(&format!("/api/files/{id}")).await.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn deleting_the_account_deletes_the_users_stored_objects() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    client.upload(&[("pixel.png", PNG)]).await;
    let user: uuid::Uuid =
        sqlx::query_scalar("SELECT user_id FROM files").fetch_one(&app.owner_pool).await.unwrap();
    let folder = std::env::temp_dir()
        .join(format!("jarvis-objects-{}", app.database_name))
        .join(format!("users/{user}"));
    let count = |dir: &std::path::Path| walk(dir).len();
    assert_eq!(count(&folder), 1, "the object is on disk under the user's prefix");

    let deleted =
        client.post_form("/settings/delete-account", &[("password", crate::helpers::PASSWORD)]).await;
    assert_eq!(deleted.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&folder), 0);
    app.stop().await;
}

/// Every file under `dir` (none if it does not exist).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .flat_map(|entry| if entry.path().is_dir() { walk(&entry.path()) } else { vec![entry.path()] })
        .collect()
}

#[tokio::test]
async fn every_version_counts_against_the_plans_storage_and_one_that_does_not_fit_is_refused() {
    let plans = plans_file(
        r#"{"plans": [{"id": "free", "name": "Free", "storage_bytes": 3000}], "default_plan": "free"}"#,
    );
    let app = spawn_app_with(&[("JARVIS_PLANS_FILE", &plans)]).await;
    let (client, _) = app.signed_in_client().await;
    let report: Value = client.upload(&[("notes.md", &[b'a'; 1000])]).await.json().await.unwrap();
    let id = report["uploaded"][0]["document"]["id"].as_str().unwrap().to_owned();
    let save = |version: &str, bytes: usize| {
        let content = "b".repeat(bytes);
        let (client, id, version) = (&client, id.clone(), version.to_owned());
        async move {
            client
                .server_fn("save_document", &[("id", &id), ("version", &version), ("content", &content)])
                .await
        }
    };
    let (status, saved) = save("1", 1500).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    // Both versions are kept, so both count: 2500 of 3000.
    let (_, billing) = client.server_fn("billing", &[]).await;
    assert_eq!(billing["storage_bytes"]["used"], 2500, "{billing}");

    // A third version of 1000 bytes does not fit in the 500 left: refused, nothing changed.
    let (status, refused) = save("2", 1000).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert!(
        refused.to_string().contains("storage is full: this version needs 1000 bytes and 500 are left"),
        "{refused}"
    );
    let (status, refused) = client
        .server_fn("restore_version", &[("id", &id), ("version", "1"), ("expected_version", "2")])
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    let (_, current) = client.server_fn("document", &[("id", &id)]).await;
    assert_eq!(current["version"], 2);
    let versions: i64 = sqlx::query_scalar("SELECT count(*) FROM document_versions")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(versions, 2);
    // A smaller one still fits.
    let (status, saved) = save("2", 400).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    app.stop().await;
}
