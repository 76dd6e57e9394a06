//! The empty chat: what Jarvis can do, in three lines, and three example prompts (a document,
//! some code, a spoken answer) that send at a click — so a new user's first screen shows how to
//! start rather than a blank page.

use leptos::prelude::*;

use super::context::ChatContext;

/// One example: the button's label and the message it sends.
pub struct ExamplePrompt {
    pub label: &'static str,
    pub prompt: &'static str,
}

/// The three examples, one for each thing Jarvis does that a plain chat does not.
pub const EXAMPLES: [ExamplePrompt; 3] = [
    ExamplePrompt {
        label: "Write a document",
        prompt: "Write a one-page packing list for a weekend hiking trip and save it as a document.",
    },
    ExamplePrompt {
        label: "Write some code",
        prompt: "Write a Python function that checks whether a word is a palindrome, with a few tests, and save it as palindrome.py.",
    },
    ExamplePrompt {
        label: "Get a spoken answer",
        prompt: "In three short sentences, explain why the sky is blue.",
    },
];

/// The guide shown while the open conversation has no messages.
#[component]
pub fn FirstRunGuide() -> impl IntoView {
    let chat = expect_context::<ChatContext>();
    // Spoken replies are promised only to a plan that has them.
    let voice_included =
        move || chat.voice.options.with(|options| options.as_ref().is_none_or(|options| options.included));
    view! {
        <section class="mx-auto mt-10 max-w-xl space-y-4 text-center" aria-labelledby="first-run-heading" data-testid="first-run">
            <h2 id="first-run-heading" class="text-lg font-semibold text-slate-800">"Ask Jarvis anything."</h2>
            <ul class="space-y-1 text-sm text-slate-600">
                <li>"Jarvis writes documents and code into your private library, where you can edit, compare versions and download them."</li>
                <li>
                    {move || if voice_included() {
                        "It answers out loud as it writes: each sentence is spoken while the next one streams."
                    } else {
                        "On a plan with voice, it also answers out loud as it writes; on yours, it answers in text."
                    }}
                </li>
                <li>"Your conversations and files are yours alone; search them with Ctrl+K."</li>
            </ul>
            <p class="text-sm text-slate-500">"Try one of these:"</p>
            <div class="grid gap-2 sm:grid-cols-3">
                {EXAMPLES
                    .iter()
                    .map(|example| {
                        let prompt = example.prompt;
                        view! {
                            <button
                                type="button"
                                class="min-h-11 rounded-lg bg-white px-3 py-2 text-left text-sm text-slate-700 ring-1 ring-slate-200 hover:bg-slate-50 hover:ring-indigo-300 disabled:opacity-50"
                                data-testid="example-prompt"
                                disabled=move || chat.running()
                                on:click=move |_| chat.send(prompt.to_owned())
                            >
                                <span class="block font-semibold text-slate-800">{example.label}</span>
                                <span class="mt-1 block text-slate-600">{prompt}</span>
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::EXAMPLES;

    #[test]
    fn the_examples_cover_a_document_code_and_a_spoken_answer_each_distinct() {
        let labels: Vec<_> = EXAMPLES.iter().map(|example| example.label).collect();
        assert_eq!(labels, ["Write a document", "Write some code", "Get a spoken answer"]);
        assert!(EXAMPLES[0].prompt.contains("document"));
        assert!(EXAMPLES[1].prompt.contains("Python"));
        let mut prompts: Vec<_> = EXAMPLES.iter().map(|example| example.prompt).collect();
        prompts.sort_unstable();
        prompts.dedup();
        assert_eq!(prompts.len(), 3);
    }
}
