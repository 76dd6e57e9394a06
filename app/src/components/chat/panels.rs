//! The whole chat: the conversation list, the messages with the composer, and the documents panel
//! beside them (side by side on a wide screen, one at a time behind tabs on a phone).

use jarvis_types::chat::{ConversationSummary, ConversationView};
use jarvis_types::documents::Library;
use jarvis_types::voice::VoiceOptions;
use leptos::prelude::*;

use super::attachments::ChatDropZone;
use super::composer::Composer;
use super::context::{ChatContext, Panel};
use super::conversation_list::ConversationList;
use super::jarvis_mode::JarvisModeToggle;
use super::message_list::MessageList;
use super::model_picker::ModelPicker;
use super::share::ShareControls;
use super::state::ChatState;
use crate::components::connection::ConnectionStatus;
use crate::components::voice::{LazyVoiceSettingsPanel, VoiceSettingsButton, VoiceState};
use crate::components::voice_input::{Conversation, ConversationStatus, ConversationToggle};
use crate::library::{LibraryPanel, LibraryState};

/// The whole chat: list, messages, composer, and the documents panel beside them. `open` is the
/// conversation named in the address.
#[component]
pub fn Chat(
    conversations: Vec<ConversationSummary>,
    open: Option<ConversationView>,
    library: Library,
    voice: Option<VoiceOptions>,
) -> impl IntoView {
    let library = LibraryState::new(library);
    provide_context(library);
    let voice = VoiceState::new(voice);
    provide_context(voice);
    let chat = ChatContext::new(ChatState::new(conversations), open, library, voice);
    provide_context(chat);
    chat.connect();
    chat.follow_history();
    chat.follow_other_tabs();
    provide_context(Conversation::new(chat));
    let panel = chat.panel;
    let voice_settings_open = RwSignal::new(false);
    let shown = move |which: Panel| if panel.get() == which { "flex" } else { "hidden" };
    let tab = move |which: Panel, label: &'static str| {
        view! {
            <button
                type="button"
                role="tab"
                aria-selected=move || (panel.get() == which).to_string()
                class=move || format!(
                    "flex-1 py-2 text-sm {}",
                    if panel.get() == which { "border-b-2 border-indigo-600 font-semibold text-indigo-700" } else { "text-slate-600" },
                )
                on:click=move |_| panel.set(which)
            >
                {label}
            </button>
        }
    };

    view! {
        <div class="flex min-h-0 flex-1 flex-col">
            <nav class="flex border-b border-slate-200 bg-white lg:hidden" role="tablist" aria-label="Panels">
                {tab(Panel::Conversations, "Conversations")}
                {tab(Panel::Chat, "Chat")}
                {tab(Panel::Documents, "Documents")}
            </nav>
            <div class="flex min-h-0 flex-1">
                <aside
                    class=move || format!("{} w-full shrink-0 flex-col border-r border-slate-200 bg-white lg:flex lg:w-60", shown(Panel::Conversations))
                    aria-label="Conversations"
                >
                    <ConversationList on_pick=move || panel.set(Panel::Chat) />
                </aside>
                <section
                    class=move || format!("{} min-w-0 flex-1 flex-col lg:flex", shown(Panel::Chat))
                    aria-label="Chat"
                >
                    // On a narrow screen the controls wrap onto more lines rather than run off it.
                    <div class="flex flex-wrap items-center justify-between gap-2 border-b border-slate-200 bg-white px-3 py-2">
                        <ConnectionStatus state=chat.connection />
                        <div class="flex min-w-0 flex-wrap items-center justify-end gap-x-3 gap-y-2">
                            <ModelPicker />
                            <ShareControls />
                            <ConversationToggle />
                            <VoiceSettingsButton open=voice_settings_open />
                            <JarvisModeToggle />
                        </div>
                    </div>
                    <ConversationStatus />
                    <Show when=move || voice_settings_open.get()>
                        <LazyVoiceSettingsPanel open=voice_settings_open />
                    </Show>
                    <ChatDropZone>
                        <MessageList />
                        <Composer />
                    </ChatDropZone>
                </section>
                <aside
                    class=move || format!(
                        "{} w-full shrink-0 flex-col border-l border-slate-200 bg-white lg:flex {}",
                        shown(Panel::Documents),
                        if library.opened.get().is_some() { "lg:w-[32rem] xl:w-[40rem]" } else { "lg:w-80" },
                    )
                    aria-label="Documents"
                >
                    <LibraryPanel />
                </aside>
            </div>
        </div>
    }
    .into_any()
}
