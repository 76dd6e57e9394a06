//! Code of `/app` that waits for a click, loaded when first needed. In a site built with
//! `cargo leptos build --split --lib-features split` each such function is a wasm chunk of its
//! own (a split point made with `wasm_split`, as Leptos's `#[lazy]` does, but *fallible*): a
//! chunk that cannot be fetched — the connection dropped, or a deploy took an open page's chunks
//! off the server — is an error the page shows with "Try again", never a panic that stops the
//! whole app (which is what `#[lazy]`'s loader does). Without `split` the functions are ordinary
//! ones, in the one wasm (see `pages::lazy` for why the switch exists).
//!
//! A split point is written as a plain function returning `Result<_, ChunkUnavailable>` with
//! `#[cfg_attr(all(feature = "hydrate", feature = "split"), leptos::wasm_split::wasm_split(<chunk>,
//! wasm_split_path = ::leptos::wasm_split, fallible))]`, called through [`load!`].

use leptos::prelude::*;

/// A lazy chunk could not be fetched (the loader says why in the browser's console).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkUnavailable;

#[cfg(all(feature = "hydrate", feature = "split"))]
impl From<leptos::wasm_split::SplitLoaderError> for ChunkUnavailable {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        Self
    }
}

/// What the page says where lazy code could not be loaded.
pub const UNAVAILABLE: &str = "This part of Jarvis could not be loaded. Check your connection and try again.";

/// Calls a split point: awaited in a split build (its chunk is fetched first), at once otherwise.
macro_rules! load {
    ($call:expr) => {{
        #[cfg(all(feature = "hydrate", feature = "split"))]
        let loaded = $call.await;
        #[cfg(not(all(feature = "hydrate", feature = "split")))]
        let loaded = $call;
        loaded
    }};
}
pub(crate) use load;

/// Shows the view `load` makes once its code is in: "Opening…" meanwhile (only a split build's
/// first time waits), and the sentence with "Try again" if its chunk cannot be fetched.
pub fn lazy_view<Load, Loading>(load: Load) -> impl IntoView
where
    Load: Fn() -> Loading + Send + Sync + 'static,
    Loading: Future<Output = Result<AnyView, ChunkUnavailable>> + Send + 'static,
{
    let attempt = RwSignal::new(0_u32);
    view! {
        <Suspense fallback=|| view! { <p role="status" class="p-3 text-sm text-slate-500">"Opening…"</p> }>
            {move || {
                attempt.track();
                let loading = load();
                Suspend::new(async move {
                    match loading.await {
                        Ok(view) => view,
                        Err(ChunkUnavailable) => view! {
                            <p role="alert" class="m-3 rounded-md bg-rose-50 px-3 py-1.5 text-sm text-rose-800 ring-1 ring-rose-200">
                                {UNAVAILABLE}
                                <button type="button" class="ml-2 underline" on:click=move |_| attempt.update(|n| *n += 1)>
                                    "Try again"
                                </button>
                            </p>
                        }
                        .into_any(),
                    }
                })
            }}
        </Suspense>
    }
}
