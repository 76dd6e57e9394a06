//! One line of a reply's transcript: what one clip says; a failed clip is marked, with its error
//! and a "Retry" that asks the server to speak it again.

use jarvis_types::voice::{Clip, ClipStatus};
use leptos::prelude::*;

/// What one clip says; a failed one is marked, with a "Retry".
#[component]
pub(super) fn TranscriptLine(
    clip: Clip,
    current: Memo<Option<u32>>,
    on_clip: Callback<Clip>,
) -> impl IntoView {
    let seq = clip.seq;
    let failed = clip.status == ClipStatus::Failed;
    let retrying = RwSignal::new(false);
    let retry_error = RwSignal::new(None::<String>);
    let retry = {
        let id = clip.id.clone();
        move |_| {
            if retrying.get_untracked() {
                return;
            }
            retrying.set(true);
            retry_error.set(None);
            #[cfg(feature = "hydrate")]
            {
                let id = id.clone();
                leptos::task::spawn_local(async move {
                    let result = client::retry_clip(&id).await;
                    let _ = retrying.try_set(false);
                    match result {
                        // Still failed: its new error shows; ready: it joins the timeline.
                        Ok(clip) => on_clip.run(clip),
                        Err(error) => {
                            let _ = retry_error.try_set(Some(error));
                        }
                    }
                });
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = (&id, on_clip);
        }
    };
    let class = move || {
        if current.get() == Some(seq) && !failed {
            "rounded px-1 text-slate-900 bg-indigo-50"
        } else {
            "px-1"
        }
    };
    view! {
        <li
            class=class
            data-testid="voice-transcript"
            data-seq=seq.to_string()
            data-status=if failed { "failed" } else { "ready" }
        >
            <span>{clip.transcript.clone()}</span>
            {failed.then(|| view! {
                <span class="ml-2 rounded bg-rose-100 px-1.5 py-0.5 font-medium text-rose-800">"failed"</span>
                {clip.error.clone().map(|error| view! { <span class="ml-1 text-rose-700">{error}</span> })}
                <button
                    type="button"
                    class="ml-2 rounded px-2 py-0.5 text-rose-800 ring-1 ring-rose-300 hover:bg-rose-50 disabled:opacity-60"
                    data-testid="voice-retry"
                    aria-label=format!("Retry speaking: {}", clip.transcript)
                    disabled=move || retrying.get()
                    on:click=retry
                >
                    {move || if retrying.get() { "Retrying…" } else { "Retry" }}
                </button>
                {move || retry_error.get().map(|error| view! { <span role="alert" class="ml-2 text-rose-700">{error}</span> })}
            })}
        </li>
    }
    .into_any()
}

#[cfg(feature = "hydrate")]
mod client {
    //! The browser half: asking the server to speak a failed clip again.

    use jarvis_types::voice::{Clip, clip_url};

    /// `POST /api/clips/{id}/retry`: the clip as it is now (ready, or failed again with a new
    /// error), or a sentence for the user.
    pub async fn retry_clip(id: &str) -> Result<Clip, String> {
        let unreachable = || "The clip could not be retried. Check your connection and try again.".to_owned();
        let response = gloo_net::http::Request::post(&format!("{}/retry", clip_url(id)))
            .send()
            .await
            .map_err(|_| unreachable())?;
        let status = response.status();
        if status == 200 {
            return response.json::<Clip>().await.map_err(|_| unreachable());
        }
        // The server's sentence when it gave one (`{"error", "message"}`).
        let message = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|body| body.get("message")?.as_str().map(str::to_owned));
        Err(message.unwrap_or_else(|| match status {
            404 => "This clip no longer exists.".to_owned(),
            _ => format!("The clip could not be made again ({status}). Try again later."),
        }))
    }
}
