//! The Leptos application: the HTML shell, the router and every page. Compiled twice: with
//! `ssr` into the server, which renders each page to HTML, and with `hydrate` into the browser's
//! wasm, which takes over the rendered page.

// The chat panel's view type (composer, attachments, model picker) is deeper than the default
// limit of 128 lets the compiler lay out.
#![recursion_limit = "256"]

pub mod account;
pub mod admin;
pub mod billing;
pub mod browser;
pub mod components;
pub mod connections;
pub mod conversations;
pub mod error;
pub mod format;
pub mod highlight;
pub mod library;
pub mod markdown;
pub mod other_tabs;
pub mod pages;
pub mod search;
#[cfg(feature = "ssr")]
pub mod server_context;
pub mod shares;
pub mod theme;
pub mod voice;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, ParamSegment, SsrMode, StaticSegment,
    components::{Route, Router, Routes},
};

use crate::pages::{
    app_shell::AppShell,
    lazy::{
        AdminRoute, BillingRoute, ForgotPasswordRoute, LandingRoute, LoginRoute, PricingRoute, RegisterRoute,
        ResetPasswordRoute, SettingsRoute, ShareRoute,
    },
    not_found::NotFound,
};

/// The name cargo-leptos gives the wasm, JS and CSS bundles under `/pkg`.
pub const OUTPUT_NAME: &str = "jarvis";

/// The document around every page, rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en" class="h-full">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <link rel="icon" href="/favicon.ico" />
                // `/pkg/jarvis.<hash>.css` when the site is built with hashed names.
                <HashedStylesheet options=options.clone() id="leptos" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="h-full bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// The id of every page's `<main>`, which [`SkipLink`] targets.
pub const MAIN_ID: &str = "main";

/// "Skip to content": the first focusable element of every page (the first thing in `<body>`,
/// inside [`App`] so that hydration finds it), hidden until focused, leading past the header to
/// the page's `<main id="main">`.
#[component]
fn SkipLink() -> impl IntoView {
    view! {
        <a
            href=format!("#{MAIN_ID}")
            class="sr-only focus:not-sr-only focus:fixed focus:left-3 focus:top-3 focus:z-50 focus:rounded-lg focus:bg-white focus:px-4 focus:py-2 focus:font-semibold focus:text-indigo-700 focus:shadow focus:ring-2 focus:ring-indigo-600"
        >
            "Skip to content"
        </a>
    }
}

/// The root component: the skip link, title and the routes (the stylesheet is in the shell).
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    theme::provide_theme();

    view! {
        <SkipLink />
        <Title formatter=|title: String| {
            if title.is_empty() { "Jarvis".to_owned() } else { format!("{title} · Jarvis") }
        } />
        <Router>
            <Routes fallback=NotFound>
                // `/app` is in the main wasm; every other page is a lazy route (`pages::lazy`): in a
                // split build its code is a chunk of its own, which a cold `/app` does not fetch.
                <Route path=StaticSegment("") view={Lazy::<LandingRoute>::new()} />
                <Route path=StaticSegment("register") view={Lazy::<RegisterRoute>::new()} />
                <Route path=StaticSegment("login") view={Lazy::<LoginRoute>::new()} />
                <Route path=StaticSegment("forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} />
                <Route path=StaticSegment("reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async />
                // Pages with account data render only once it is loaded, so they are complete
                // without JavaScript.
                <Route path=StaticSegment("app") view=AppShell ssr=SsrMode::Async />
                <Route path=StaticSegment("settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("pricing") view={Lazy::<PricingRoute>::new()} ssr=SsrMode::Async />
                <Route path=StaticSegment("billing") view={Lazy::<BillingRoute>::new()} ssr=SsrMode::Async />
                // Admins only; anyone else gets the not-found page.
                <Route path=StaticSegment("admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async />
                // A shared conversation, for anyone with the link.
                <Route
                    path=(StaticSegment("share"), ParamSegment("token"))
                    view={Lazy::<ShareRoute>::new()}
                    ssr=SsrMode::Async
                />
            </Routes>
        </Router>
        // After the routes: see `ThemeAttribute`.
        <theme::ThemeAttribute />
    }
}
