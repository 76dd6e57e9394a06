//! The landing page: what Jarvis is, what it costs, and the way in. Complete without JavaScript.

use leptos::prelude::*;
use leptos_meta::{Meta, Title};

/// One plan as the landing page presents it.
struct PlanCard {
    name: &'static str,
    price: &'static str,
    cadence: &'static str,
    features: &'static [&'static str],
    highlighted: bool,
}

const PLANS: &[PlanCard] = &[
    PlanCard {
        name: "Free",
        price: "$0",
        cadence: "forever",
        features: &["20 messages a day", "A private workspace for your documents", "Text replies"],
        highlighted: false,
    },
    PlanCard {
        name: "Pro",
        price: "$20",
        cadence: "per month",
        features: &[
            "500 messages a day",
            "Spoken replies with transcripts",
            "Versioned documents, export and upload",
            "Cancel any time",
        ],
        highlighted: true,
    },
];

#[component]
pub fn LandingPage() -> impl IntoView {
    view! {
        <Title text="Your assistant that writes, remembers and speaks" />
        <Meta
            name="description"
            content="Jarvis is an AI assistant in your browser: it streams its answers, keeps the documents and code it writes in your private workspace, and speaks its replies."
        />
        <header class="mx-auto flex max-w-5xl items-center justify-between px-6 py-6">
            <a href="/" class="text-xl font-bold tracking-tight">"Jarvis"</a>
            <nav class="flex gap-6 text-sm" aria-label="Main">
                <a href="/pricing" class="hover:underline">"Pricing"</a>
                <a href="/login" class="hover:underline">"Log in"</a>
            </nav>
        </header>
        <main id="main">
            <section class="mx-auto max-w-5xl px-6 pt-16 pb-20">
                <h1 class="max-w-3xl text-4xl font-bold tracking-tight sm:text-5xl">
                    "Jarvis, the assistant that writes, remembers and speaks."
                </h1>
                <p class="mt-6 max-w-2xl text-lg text-slate-600">
                    "Talk to a Claude-powered agent in your browser. Its answers stream as it thinks, the documents and code it writes are saved in your private workspace — versioned, editable and downloadable — and it answers out loud, with a transcript."
                </p>
                <div class="mt-10 flex flex-wrap gap-4">
                    <a
                        href="/register"
                        class="rounded-lg bg-indigo-600 px-5 py-3 font-semibold text-white shadow hover:bg-indigo-500"
                    >
                        "Create your account"
                    </a>
                    <a href="#pricing" class="rounded-lg px-5 py-3 font-semibold ring-1 ring-slate-300 hover:bg-white">
                        "See pricing"
                    </a>
                </div>
            </section>
            <section class="mx-auto grid max-w-5xl gap-8 px-6 pb-20 sm:grid-cols-3" aria-label="Features">
                <Feature title="Streaming chat" text="Answers appear word by word, with a Stop button, and survive a dropped connection." />
                <Feature title="Your workspace" text="Everything the agent writes is kept, versioned and yours to edit, diff and download." />
                <Feature title="Spoken replies" text="Hear the answer sentence by sentence while it is still being written." />
            </section>
            <section id="pricing" class="bg-white py-20" aria-labelledby="pricing-heading">
                <div class="mx-auto max-w-5xl px-6">
                    <h2 id="pricing-heading" class="text-3xl font-bold tracking-tight">"Pricing"</h2>
                    <p class="mt-2 text-slate-600">"Start free. Upgrade when Jarvis earns it."</p>
                    <div class="mt-10 grid gap-8 sm:grid-cols-2">
                        {PLANS.iter().map(|plan| view! { <Plan plan /> }).collect_view()}
                    </div>
                </div>
            </section>
        </main>
        <footer class="mx-auto max-w-5xl px-6 py-10 text-sm text-slate-500">
            "Jarvis · Your data stays in your workspace, isolated from every other user."
        </footer>
    }
}

#[component]
fn Feature(title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <div>
            <h2 class="text-lg font-semibold">{title}</h2>
            <p class="mt-2 text-slate-600">{text}</p>
        </div>
    }
}

#[component]
fn Plan(plan: &'static PlanCard) -> impl IntoView {
    let ring = if plan.highlighted { "ring-2 ring-indigo-600" } else { "ring-1 ring-slate-200" };
    view! {
        <article class=format!("rounded-2xl p-8 {ring}") aria-label=format!("{} plan", plan.name)>
            <h3 class="text-xl font-semibold">{plan.name}</h3>
            <p class="mt-4">
                <span class="text-4xl font-bold">{plan.price}</span>
                <span class="ml-1 text-slate-600">{plan.cadence}</span>
            </p>
            <ul class="mt-6 space-y-2 text-slate-700">
                {plan.features.iter().map(|feature| view! { <li>"✓ " {*feature}</li> }).collect_view()}
            </ul>
            <a href="/register" class="mt-8 inline-block font-semibold text-indigo-700 hover:underline">
                {format!("Start with {}", plan.name)}
            </a>
        </article>
    }
}
