//! Attachments over HTTP: an upload is recognised from its bytes, scaled when too large,
//! previewed, served back with safe headers, counted against the plan's storage; another user
//! reaches none of it; what is refused says why and stores nothing; a library file can be
//! attached; a sent attachment stays with its message.

use std::io::Cursor;

use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{Client, TestApp, plans_file, spawn_app, spawn_app_with};

/// An image with some detail, encoded as `format`.
fn image_bytes(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let image = ImageBuffer::from_fn(width, height, |x, y| {
        Rgb([u8::try_from(x % 256).unwrap(), u8::try_from(y % 256).unwrap(), 90])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(image).write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A minimal PDF of `pages` empty pages with a correct cross-reference table.
fn pdf_with_pages(pages: usize) -> Vec<u8> {
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {pages} >>",
            (0..pages).map(|i| format!("{} 0 R", i + 3)).collect::<Vec<_>>().join(" ")
        ),
    ];
    for _ in 0..pages {
        objects.push("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>".to_owned());
    }
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    pdf
}

/// Attaches one file; the response as it came.
async fn attach(app: &TestApp, client: &Client, name: &str, bytes: &[u8]) -> reqwest::Response {
    let form = Form::new().part("file", Part::bytes(bytes.to_vec()).file_name(name.to_owned()));
    client
        .http
        .post(format!("{}/api/attachments", app.address))
        .header("origin", &app.address)
        .multipart(form)
        .send()
        .await
        .expect("the server answers")
}

/// Attaches one file that must be taken; its view.
async fn attached(app: &TestApp, client: &Client, name: &str, bytes: &[u8]) -> Value {
    let response = attach(app, client, name, bytes).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

async fn post(app: &TestApp, client: &Client, path: &str) -> reqwest::Response {
    client.http.post(format!("{}{path}", app.address)).header("origin", &app.address).send().await.unwrap()
}

async fn delete(app: &TestApp, client: &Client, path: &str) -> reqwest::Response {
    client.http.delete(format!("{}{path}", app.address)).header("origin", &app.address).send().await.unwrap()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.owner_pool).await.unwrap()
}

/// The storage meter of the billing page.
async fn storage_used(client: &Client) -> u64 {
    let (status, billing) = client.server_fn("billing", &[]).await;
    assert_eq!(status, StatusCode::OK, "{billing}");
    billing["storage_bytes"]["used"].as_u64().unwrap()
}

#[tokio::test]
async fn an_image_is_stored_under_the_users_prefix_served_back_previewed_and_counted() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let before = storage_used(&client).await;
    let png = image_bytes(300, 200, ImageFormat::Png);

    let view = attached(&app, &client, "../../chart.txt", &png).await;
    assert_eq!(view["kind"], "image");
    assert_eq!(view["content_type"], "image/png");
    assert_eq!(view["filename"], "chart.png");
    assert_eq!((view["width"].as_u64(), view["height"].as_u64()), (Some(300), Some(200)));
    assert_eq!(view["size_bytes"].as_u64(), Some(png.len() as u64));
    let id = view["id"].as_str().unwrap();

    let (key, thumbnail_key, sent): (String, Option<String>, Option<Uuid>) =
        sqlx::query_as("SELECT storage_key, thumbnail_key, message_id FROM attachments")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    let user: Uuid =
        sqlx::query_scalar("SELECT user_id FROM attachments").fetch_one(&app.owner_pool).await.unwrap();
    assert!(key.starts_with(&format!("users/{user}/attachments/")), "{key}");
    assert!(thumbnail_key.unwrap().starts_with(&format!("users/{user}/")));
    assert_eq!(sent, None, "not sent yet");

    let served = client.get(&format!("/api/attachments/{id}")).await;
    assert_eq!(served.status(), StatusCode::OK);
    let headers = served.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert!(headers["content-security-policy"].to_str().unwrap().contains("sandbox"));
    assert!(headers["cache-control"].to_str().unwrap().starts_with("private"));
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());

    let preview = client.get(&format!("/api/attachments/{id}/thumbnail")).await;
    assert_eq!(preview.status(), StatusCode::OK);
    assert_eq!(preview.headers()["content-type"], "image/jpeg");
    let preview = image::load_from_memory(&preview.bytes().await.unwrap()).unwrap();
    assert_eq!(preview.width(), 256);
    assert!((170..=171).contains(&preview.height()), "{}", preview.height());

    let after = storage_used(&client).await;
    assert!(after > before + png.len() as u64, "the image and its preview count: {before} → {after}");
    app.stop().await;
}

#[tokio::test]
async fn a_large_png_is_scaled_to_1568_px_keeping_its_aspect_and_a_pdf_counts_its_pages() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let view = attached(&app, &client, "wide.png", &image_bytes(3136, 1000, ImageFormat::Png)).await;
    assert_eq!((view["width"].as_u64(), view["height"].as_u64()), (Some(1568), Some(500)));
    let served = client.get(&format!("/api/attachments/{}", view["id"].as_str().unwrap())).await;
    let stored = image::load_from_memory(&served.bytes().await.unwrap()).unwrap();
    assert_eq!((stored.width(), stored.height()), (1568, 500));

    let pdf = pdf_with_pages(3);
    let view = attached(&app, &client, "report.pdf", &pdf).await;
    assert_eq!((view["kind"].as_str(), view["pages"].as_u64()), (Some("pdf"), Some(3)));
    let served = client.get(&format!("/api/attachments/{}", view["id"].as_str().unwrap())).await;
    assert_eq!(served.headers()["content-type"], "application/pdf");
    assert!(served.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(served.bytes().await.unwrap().as_ref(), pdf.as_slice());

    let view = attached(&app, &client, "main.rs", b"fn main() {}\n").await;
    assert_eq!((view["kind"].as_str(), view["content_type"].as_str()), (Some("text"), Some("text/plain")));
    let served = client.get(&format!("/api/attachments/{}", view["id"].as_str().unwrap())).await;
    assert_eq!(served.headers()["content-type"], "text/plain; charset=utf-8");
    assert!(served.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let none = client.get(&format!("/api/attachments/{}/thumbnail", view["id"].as_str().unwrap())).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND, "a text file has no preview");
    app.stop().await;
}

#[tokio::test]
async fn another_user_gets_404_for_every_attachment_route_and_changes_nothing() {
    let app = spawn_app().await;
    let (owner, _) = app.signed_in_client().await;
    let (other, _) = app.signed_in_client().await;
    let view = attached(&app, &owner, "photo.jpg", &image_bytes(64, 64, ImageFormat::Jpeg)).await;
    let id = view["id"].as_str().unwrap();
    let uploaded = owner.upload(&[("scan.png", &image_bytes(10, 10, ImageFormat::Png))]).await;
    let report: Value = uploaded.json().await.unwrap();
    let file_id = report["uploaded"][0]["file"]["id"].as_str().unwrap().to_owned();

    for path in [format!("/api/attachments/{id}"), format!("/api/attachments/{id}/thumbnail")] {
        assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(delete(&app, &other, &format!("/api/attachments/{id}")).await.status(), StatusCode::NOT_FOUND);
    let stolen = post(&app, &other, &format!("/api/attachments/from-file/{file_id}")).await;
    assert_eq!(stolen.status(), StatusCode::NOT_FOUND);
    assert_eq!(other.get("/api/attachments/not-a-uuid").await.status(), StatusCode::NOT_FOUND);

    assert_eq!(count(&app, "SELECT count(*) FROM attachments").await, 1, "only the owner's, untouched");
    assert_eq!(owner.get(&format!("/api/attachments/{id}")).await.status(), StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn an_unsupported_or_broken_file_is_refused_with_a_sentence_and_nothing_is_stored() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let before = storage_used(&client).await;

    let zip = attach(&app, &client, "photo.png", b"PK\x03\x04\x14\0\0\0\x08\0 an archive").await;
    assert_eq!(zip.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = zip.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_type");
    assert!(
        body["message"].as_str().unwrap().contains("Attach an image (PNG, JPEG, GIF or WebP), a PDF"),
        "{body}"
    );

    let mut broken = image_bytes(100, 100, ImageFormat::Png);
    broken.truncate(broken.len() / 2);
    let broken = attach(&app, &client, "broken.png", &broken).await;
    assert_eq!(broken.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = broken.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("could not be read"), "{body}");

    let pdf = attach(&app, &client, "long.pdf", &pdf_with_pages(101)).await;
    assert_eq!(pdf.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = pdf.json().await.unwrap();
    assert_eq!(body["message"], "The PDF has 101 pages; PDFs may have at most 100.");

    let empty = attach(&app, &client, "empty.txt", b"").await;
    assert_eq!(empty.status(), StatusCode::BAD_REQUEST);

    assert_eq!(count(&app, "SELECT count(*) FROM attachments").await, 0);
    assert_eq!(storage_used(&client).await, before);
    app.stop().await;
}

#[tokio::test]
async fn an_upload_past_the_plans_storage_is_refused_with_the_plans_sentence() {
    let plans = plans_file(
        r#"{"plans": [{"id": "free", "name": "Free", "storage_bytes": 3000}], "default_plan": "free"}"#,
    );
    let app = spawn_app_with(&[("JARVIS_PLANS_FILE", &plans)]).await;
    let (client, _) = app.signed_in_client().await;
    attached(&app, &client, "a.txt", &[b'a'; 2000]).await;
    assert_eq!(storage_used(&client).await, 2000);

    let refused = attach(&app, &client, "b.txt", &[b'b'; 1500]).await;
    assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "storage_full");
    assert!(
        body["message"].as_str().unwrap().starts_with("Your plan's storage is full: 1000 bytes left."),
        "{body}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM attachments").await, 1);

    // The library sees the attachments' bytes too.
    let library = client.upload(&[("c.txt", &[b'c'; 1500])]).await;
    assert_eq!(library.status(), StatusCode::UNPROCESSABLE_ENTITY);
    app.stop().await;
}

#[tokio::test]
async fn a_library_file_is_attached_as_a_new_attachment() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let png = image_bytes(40, 30, ImageFormat::Png);
    let report: Value = client.upload(&[("diagram.png", &png)]).await.json().await.unwrap();
    let file_id = report["uploaded"][0]["file"]["id"].as_str().unwrap();

    let response = post(&app, &client, &format!("/api/attachments/from-file/{file_id}")).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let view: Value = response.json().await.unwrap();
    assert_eq!((view["kind"].as_str(), view["filename"].as_str()), (Some("image"), Some("diagram.png")));
    assert_ne!(view["id"].as_str(), Some(file_id));
    let served = client.get(&format!("/api/attachments/{}", view["id"].as_str().unwrap())).await;
    assert_eq!(served.bytes().await.unwrap().as_ref(), png.as_slice());
    let missing = post(&app, &client, &format!("/api/attachments/from-file/{}", Uuid::new_v4())).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    app.stop().await;
}

#[tokio::test]
async fn an_unsent_attachment_can_be_removed_but_a_sent_one_stays_with_its_message() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let unsent = attached(&app, &client, "a.txt", b"first").await;
    let sent = attached(&app, &client, "b.txt", b"second").await;

    let removed =
        delete(&app, &client, &format!("/api/attachments/{}", unsent["id"].as_str().unwrap())).await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    let gone = client.get(&format!("/api/attachments/{}", unsent["id"].as_str().unwrap())).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);

    // Sent with a message (as a `send` does, in the user's transaction).
    let user: Uuid =
        sqlx::query_scalar("SELECT user_id FROM attachments").fetch_one(&app.owner_pool).await.unwrap();
    let (conversation, message) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 't')")
        .bind(conversation)
        .bind(user)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO messages (id, user_id, conversation_id, role, content) VALUES ($1, $2, $3, 'user', '[]')")
        .bind(message)
        .bind(user)
        .bind(conversation)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let sent_id: Uuid = sent["id"].as_str().unwrap().parse().unwrap();
    let mut tx = jarvis_backend::db::user_transaction(&app.app_pool, user).await.unwrap();
    jarvis_backend::attachments::Attachments::claim(&mut tx, message, &[sent_id]).await.unwrap();
    // An attachment is taken once: a second send cannot claim it again.
    assert!(jarvis_backend::attachments::Attachments::claim(&mut tx, message, &[sent_id]).await.is_err());
    tx.commit().await.unwrap();

    let refused = delete(&app, &client, &format!("/api/attachments/{sent_id}")).await;
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], "This attachment was sent with a message and stays with it.");
    assert_eq!(client.get(&format!("/api/attachments/{sent_id}")).await.status(), StatusCode::OK);
    app.stop().await;
}
