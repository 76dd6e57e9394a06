//! Sending the composer's files to the server. Each picked, dropped or pasted file is checked
//! ([`super::limits`]), shown as a chip and uploaded at once: `POST /api/attachments`, multipart
//! with one field `file`, through an `XMLHttpRequest` (the one browser API that reports upload
//! progress; same-origin, so the session cookie goes with it as with every other call). A library
//! file is attached by `POST /api/attachments/from-file/{id}`. Removing a chip aborts its upload,
//! or deletes the stored attachment (unsent, nobody needs it). The uploading itself is lazy: in a
//! split build its code is a wasm chunk of its own, fetched with the first file.

use jarvis_types::documents::FileItem;
use leptos::prelude::Update;

use super::list::Removed;
use crate::components::chat::ChatContext;

/// Said on a chip whose upload never reached the server.
const UNREACHABLE: &str = "The file could not be sent. Check your connection and try again.";

/// The sentence a chip shows for a refused upload: the server's own (`{"message": …}`), or one
/// from the status when the answer has none (a proxy's 413, a gateway's 502).
pub fn refusal(status: u16, body: &str) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|body| body.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .filter(|message| !message.trim().is_empty());
    match (message, status) {
        (Some(message), _) => message,
        (None, 413) => "This file is too large to upload.".to_owned(),
        (None, 401) => "Your session has ended. Sign in again to attach files.".to_owned(),
        (None, 0) => UNREACHABLE.to_owned(),
        (None, status) => format!("The upload failed ({status}). Try again."),
    }
}

/// Files picked with the file input (which is then emptied, so the same file can be picked again).
pub fn from_input(chat: ChatContext, event: &leptos::ev::Event) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::wasm_bindgen::JsCast;
        let Some(input) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        if let Some(list) = input.files() {
            browser::add(chat, browser::collect(&list));
        }
        input.set_value("");
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (chat, event);
}

/// Files dropped on the chat.
pub fn from_drop(chat: ChatContext, event: &leptos::ev::DragEvent) {
    #[cfg(feature = "hydrate")]
    if let Some(list) = event.data_transfer().and_then(|transfer| transfer.files()) {
        browser::add(chat, browser::collect(&list));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (chat, event);
}

/// A paste into the message box: files on the clipboard (a copied screenshot) are attached and
/// the paste goes no further; text pastes as usual.
pub fn from_paste(chat: ChatContext, event: &leptos::ev::ClipboardEvent) {
    #[cfg(feature = "hydrate")]
    {
        let files = event.clipboard_data().and_then(|data| data.files()).map(|list| browser::collect(&list));
        if let Some(files) = files.filter(|files| !files.is_empty()) {
            event.prevent_default();
            browser::add(chat, files);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (chat, event);
}

/// A file of the library, attached as it is stored.
pub fn from_library(chat: ChatContext, file: FileItem) {
    let size = u64::try_from(file.size_bytes).unwrap_or(0);
    let key =
        chat.state.try_update(|state| state.attachments.add(file.filename.clone(), &file.content_type, size));
    let Some(key) = key.flatten() else { return };
    // No bytes go up: nothing to measure, the chip shows a progress bar with no value.
    chat.state.update(|state| state.attachments.progress(key, 0, 0));
    #[cfg(feature = "hydrate")]
    browser::copy_from_library(chat, key, file.id);
}

/// The user removed the chip `key`.
pub fn remove(chat: ChatContext, key: u64) {
    let removed = chat.state.try_update(|state| state.attachments.remove(key)).unwrap_or_default();
    release(key, removed);
}

/// Does what a chip leaving asks: abort its upload, delete its attachment, revoke its preview.
fn release(key: u64, removed: Removed) {
    #[cfg(feature = "hydrate")]
    browser::release(key, removed);
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, removed);
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use std::collections::HashMap;

    use futures::StreamExt;
    use jarvis_types::chat::AttachmentView;
    use leptos::prelude::*;
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::closure::Closure;

    use super::{Removed, UNREACHABLE, refusal};
    use crate::components::chat::ChatContext;
    use crate::components::lazy_view::{ChunkUnavailable, UNAVAILABLE, load};

    thread_local! {
        /// The uploads going, by chip: removing a chip aborts its upload.
        static IN_FLIGHT: RefCell<HashMap<u64, web_sys::XmlHttpRequest>> = RefCell::new(HashMap::new());
    }

    /// What an upload's request reports, in the order it happens.
    #[derive(Clone, Copy)]
    enum XhrEvent {
        Progress { loaded: f64, total: f64 },
        Loaded,
        Failed,
        Aborted,
    }

    pub fn collect(list: &web_sys::FileList) -> Vec<web_sys::File> {
        (0..list.length()).filter_map(|i| list.get(i)).collect()
    }

    /// Each file becomes a chip; each one that passes the check starts uploading.
    pub fn add(chat: ChatContext, files: Vec<web_sys::File>) {
        leptos::task::spawn_local(async move {
            let added: Result<(), ChunkUnavailable> = load!(add_files(chat, files));
            if added.is_err() {
                chat.tell(format!("The files were not attached. {UNAVAILABLE}"));
            }
        });
    }

    /// [`add`]'s work: in a split build a wasm chunk of its own, fetched with the first file
    /// (`components::lazy_view`).
    #[cfg_attr(
        all(feature = "hydrate", feature = "split"),
        leptos::wasm_split::wasm_split(attachment_upload, wasm_split_path = ::leptos::wasm_split, fallible)
    )]
    fn add_files(chat: ChatContext, files: Vec<web_sys::File>) -> Result<(), ChunkUnavailable> {
        for file in files {
            let size = file.size().max(0.0) as u64;
            let content_type = file.type_();
            let key = chat.state.try_update(|state| state.attachments.add(file.name(), &content_type, size));
            let Some(key) = key.flatten() else { continue };
            if content_type.starts_with("image/")
                && let Ok(url) = web_sys::Url::create_object_url_with_blob(&file)
                && let Some(stale) =
                    chat.state.try_update(|state| state.attachments.previewed(key, url)).flatten()
            {
                let _ = web_sys::Url::revoke_object_url(&stale);
            }
            upload(chat, key, &file);
        }
        Ok(())
    }

    /// `POST /api/attachments` with the file, reporting progress to its chip.
    fn upload(chat: ChatContext, key: u64, file: &web_sys::File) {
        let Some(xhr) = web_sys::XmlHttpRequest::new().ok() else {
            return failed(chat, key, UNREACHABLE.to_owned());
        };
        let form = web_sys::FormData::new()
            .ok()
            .filter(|form| form.append_with_blob_and_filename("file", file, &file.name()).is_ok());
        let (Some(form), Ok(())) = (form, xhr.open_with_async("POST", "/api/attachments", true)) else {
            return failed(chat, key, UNREACHABLE.to_owned());
        };
        let _ = xhr.set_request_header("Accept", "application/json");
        let (sender, mut events) = futures::channel::mpsc::unbounded::<XhrEvent>();
        let on_progress = {
            let sender = sender.clone();
            Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |event: web_sys::ProgressEvent| {
                if event.length_computable() {
                    let _ = sender
                        .unbounded_send(XhrEvent::Progress { loaded: event.loaded(), total: event.total() });
                }
            })
        };
        let on = |event: XhrEvent| {
            let sender = sender.clone();
            Closure::<dyn FnMut()>::new(move || {
                let _ = sender.unbounded_send(event);
            })
        };
        let (on_load, on_error, on_abort) =
            (on(XhrEvent::Loaded), on(XhrEvent::Failed), on(XhrEvent::Aborted));
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        xhr.set_ontimeout(Some(on_error.as_ref().unchecked_ref()));
        xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
        if xhr.send_with_opt_form_data(Some(&form)).is_err() {
            return failed(chat, key, UNREACHABLE.to_owned());
        }
        IN_FLIGHT.with(|uploads| uploads.borrow_mut().insert(key, xhr.clone()));
        leptos::task::spawn_local(async move {
            // The callbacks live until the request ends (dropped here, never inside themselves).
            let _callbacks = (on_progress, on_load, on_error, on_abort);
            while let Some(event) = events.next().await {
                match event {
                    XhrEvent::Progress { loaded, total } => chat.state.update(|state| {
                        state.attachments.progress(key, loaded.max(0.0) as u64, total.max(0.0) as u64);
                    }),
                    XhrEvent::Loaded => {
                        let status = xhr.status().unwrap_or(0);
                        let body = xhr.response_text().ok().flatten().unwrap_or_default();
                        answered(chat, key, status, &body);
                        break;
                    }
                    XhrEvent::Failed => {
                        failed(chat, key, UNREACHABLE.to_owned());
                        break;
                    }
                    XhrEvent::Aborted => break,
                }
            }
            IN_FLIGHT.with(|uploads| uploads.borrow_mut().remove(&key));
        });
    }

    /// `POST /api/attachments/from-file/{id}`: the library file becomes an attachment.
    pub fn copy_from_library(chat: ChatContext, key: u64, file_id: String) {
        leptos::task::spawn_local(async move {
            let url = format!("/api/attachments/from-file/{file_id}");
            match gloo_net::http::Request::post(&url).header("Accept", "application/json").send().await {
                Ok(response) => {
                    let status = response.status();
                    let body = response.text().await.unwrap_or_default();
                    answered(chat, key, status, &body);
                }
                Err(_) => failed(chat, key, UNREACHABLE.to_owned()),
            }
        });
    }

    /// The server answered an upload: the chip is uploaded, or says why not.
    fn answered(chat: ChatContext, key: u64, status: u16, body: &str) {
        let stored =
            (200..300).contains(&status).then(|| serde_json::from_str::<AttachmentView>(body).ok()).flatten();
        match stored {
            Some(view) => {
                let removed = chat.state.try_update(|state| state.attachments.uploaded(key, view));
                release(key, removed.unwrap_or_default());
            }
            None => failed(chat, key, refusal(status, body)),
        }
    }

    fn failed(chat: ChatContext, key: u64, reason: String) {
        if let Some(preview) = chat.state.try_update(|state| state.attachments.failed(key, reason)).flatten()
        {
            let _ = web_sys::Url::revoke_object_url(&preview);
        }
    }

    pub fn release(key: u64, removed: Removed) {
        if removed.abort
            && let Some(xhr) = IN_FLIGHT.with(|uploads| uploads.borrow_mut().remove(&key))
        {
            let _ = xhr.abort();
        }
        if let Some(preview) = removed.revoke {
            let _ = web_sys::Url::revoke_object_url(&preview);
        }
        if let Some(id) = removed.delete {
            leptos::task::spawn_local(async move {
                // Best effort: an unsent attachment left behind is swept by the server later.
                let _ = gloo_net::http::Request::delete(&format!("/api/attachments/{id}")).send().await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_upload_shows_the_servers_sentence() {
        let body = r#"{"error":"too_large","message":"This PDF has 140 pages; at most 100 can be read."}"#;
        assert_eq!(refusal(413, body), "This PDF has 140 pages; at most 100 can be read.");
    }

    #[test]
    fn a_refusal_without_a_sentence_is_told_from_its_status() {
        assert_eq!(
            refusal(413, "<html>Request Entity Too Large</html>"),
            "This file is too large to upload."
        );
        assert_eq!(refusal(502, ""), "The upload failed (502). Try again.");
        assert_eq!(refusal(0, ""), UNREACHABLE);
        assert_eq!(refusal(400, r#"{"message":"  "}"#), "The upload failed (400). Try again.");
    }
}
