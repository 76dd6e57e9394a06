//! Uploading from the file input or a drop: `POST /api/uploads` as multipart form data (a plain
//! route of the server, not a server function: it streams bytes).

use super::LibraryState;

#[cfg(feature = "hydrate")]
pub fn from_input(state: LibraryState, event: &leptos::ev::Event) {
    use leptos::wasm_bindgen::JsCast;
    let Some(input) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
        return;
    };
    if let Some(list) = input.files() {
        send(state, collect(&list));
    }
    input.set_value("");
}

#[cfg(feature = "hydrate")]
pub fn from_drop(state: LibraryState, event: &leptos::ev::DragEvent) {
    if let Some(list) = event.data_transfer().and_then(|transfer| transfer.files()) {
        send(state, collect(&list));
    }
}

#[cfg(feature = "hydrate")]
fn collect(list: &web_sys::FileList) -> Vec<web_sys::File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

#[cfg(feature = "hydrate")]
fn send(state: LibraryState, files: Vec<web_sys::File>) {
    use leptos::prelude::*;
    if files.is_empty() {
        return;
    }
    state.uploading.set(true);
    state.error.set(None);
    leptos::task::spawn_local(async move {
        match post(files).await {
            Ok(report) => {
                let count = report.uploaded.len();
                if count > 0 {
                    state.notice.set(Some(if count == 1 {
                        "1 file uploaded.".to_owned()
                    } else {
                        format!("{count} files uploaded.")
                    }));
                }
                if !report.refused.is_empty() {
                    let reasons: Vec<String> =
                        report.refused.iter().map(|r| format!("{}: {}", r.filename, r.reason)).collect();
                    state.error.set(Some(format!("Not uploaded — {}", reasons.join("; "))));
                }
                state.reload();
            }
            Err(message) => state.error.set(Some(message)),
        }
        state.uploading.set(false);
    });
}

#[cfg(feature = "hydrate")]
async fn post(files: Vec<web_sys::File>) -> Result<jarvis_types::documents::UploadReport, String> {
    let unreachable = || "The upload could not be sent. Check your connection and try again.".to_owned();
    let form = web_sys::FormData::new().map_err(|_| unreachable())?;
    for file in &files {
        form.append_with_blob_and_filename("file", file, &file.name()).map_err(|_| unreachable())?;
    }
    let response = gloo_net::http::Request::post("/api/uploads")
        .body(form)
        .map_err(|_| unreachable())?
        .send()
        .await
        .map_err(|_| unreachable())?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.map_err(|_| unreachable())?;
    if status == 200 || status == 422 {
        serde_json::from_value(body).map_err(|_| unreachable())
    } else {
        Err(body
            .get("message")
            .and_then(|m| m.as_str())
            .map_or_else(|| format!("The upload failed ({status})."), str::to_owned))
    }
}

#[cfg(not(feature = "hydrate"))]
pub fn from_input(_state: LibraryState, _event: &leptos::ev::Event) {}

#[cfg(not(feature = "hydrate"))]
pub fn from_drop(_state: LibraryState, _event: &leptos::ev::DragEvent) {}
