//! The chat header's model picker: a select labelled "Model" listing the models the user's plan
//! allows (`GET /api/models`, loaded once by the page), showing the open conversation's model
//! (or the default). A pick answers the next message, edit or regeneration here; the server
//! remembers it for the conversation once one is sent.

use leptos::prelude::*;

use super::context::ChatContext;

#[component]
pub fn ModelPicker() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    // Loaded in the browser only: the server renders the select empty and disabled.
    Effect::new(move |loaded: Option<bool>| {
        if loaded != Some(true) {
            load(chat);
        }
        true
    });
    let options = Memo::new(move |_| chat.state.with(|state| state.model.options().to_vec()));
    let selected = Memo::new(move |_| chat.state.with(|state| state.model.selected().map(str::to_owned)));
    view! {
        <div class="flex items-center gap-1">
            <label for="model-picker" class="sr-only">"Model"</label>
            <select
                id="model-picker"
                data-testid="model-picker"
                title="Model"
                class="max-w-[11rem] rounded-md border border-slate-300 bg-white px-2 py-1 text-sm text-slate-800 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-60"
                disabled=move || options.with(|options| options.len() < 2)
                on:change=move |ev| {
                    let id = event_target_value(&ev);
                    chat.state.update(|state| state.model.pick(id));
                }
            >
                <Show when=move || !options.with(Vec::is_empty) fallback=|| view! { <option value="">"Default model"</option> }>
                    <For each=move || options.get() key=|model| model.id.clone() let(model)>
                        {
                            let id = model.id.clone();
                            view! {
                                <option
                                    value=model.id.clone()
                                    prop:selected=move || selected.with(|selected| selected.as_deref() == Some(id.as_str()))
                                >
                                    {model.display_name.clone()}
                                </option>
                            }
                        }
                    </For>
                </Show>
            </select>
        </div>
    }
}

/// `GET /api/models`: the models the plan allows. Without them the picker stays on "Default
/// model" and messages go without a model (the server's default).
fn load(chat: ChatContext) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let response =
            gloo_net::http::Request::get("/api/models").header("Accept", "application/json").send().await;
        let Ok(response) = response.map_err(|_| ()).and_then(|r| if r.ok() { Ok(r) } else { Err(()) }) else {
            return;
        };
        if let Ok(choices) = response.json::<jarvis_types::chat::ModelChoices>().await {
            chat.state.update(|state| state.model.loaded(choices));
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = chat;
}
