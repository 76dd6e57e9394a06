//! The account pages: register, log in, forgot password, reset password. Server-rendered forms
//! that post to the account endpoints and work with JavaScript off.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::forms::{Field, Flash, PostForm, Submit, query_param};

/// The centred card every account page sits in.
#[component]
fn AuthCard(heading: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="flex min-h-full flex-col items-center justify-center px-6 py-12">
            <a href="/" class="mb-8 text-2xl font-bold tracking-tight">"Jarvis"</a>
            <main id="main" class="w-full max-w-sm space-y-6 rounded-2xl bg-white p-8 shadow-sm ring-1 ring-slate-200">
                <h1 class="text-xl font-semibold">{heading}</h1>
                {children()}
            </main>
        </div>
    }
}

/// A field for choosing a password, with the policy stated and checked by the browser too.
#[component]
fn NewPasswordField(label: &'static str) -> impl IntoView {
    view! {
        <Field
            label=label
            name="password"
            kind="password"
            autocomplete="new-password"
            required=true
            minlength=10
            hint="At least 10 characters, not a common password."
        />
    }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! {
        <Title text="Create your account" />
        <AuthCard heading="Create your Jarvis account">
            <Flash />
            <PostForm action="/register".into() class="space-y-4" label="Create account">
                <Field label="Email" name="email" kind="email" autocomplete="email" value=query_param("email") required=true />
                <NewPasswordField label="Password" />
                <Field label="Your name (optional)" name="display_name" autocomplete="name" />
                <Submit label="Create account" pending_label="Creating account…" />
            </PostForm>
            <p class="text-sm text-slate-600">
                "Already have an account? " <a href="/login" class="font-medium text-indigo-700 hover:underline">"Log in"</a>
            </p>
        </AuthCard>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let next = query_param("next");
    // Logged out (here or everywhere): the unsent message this tab kept goes too. (A session that
    // expired keeps it, for after logging in again.)
    let notice = query_param("notice");
    Effect::new(move |_| {
        if matches!(notice.get().as_str(), "logged_out" | "logged_out_everywhere") {
            crate::components::chat::composer::forget_draft();
        }
    });
    view! {
        <Title text="Log in" />
        <AuthCard heading="Log in to Jarvis">
            <Flash />
            <PostForm action="/login".into() class="space-y-4" label="Log in">
                <input type="hidden" name="next" prop:value=move || next.get() value=move || next.get() />
                <Field label="Email" name="email" kind="email" autocomplete="email" value=query_param("email") required=true />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true />
                <Submit label="Log in" pending_label="Logging in…" />
            </PostForm>
            <div class="flex justify-between text-sm">
                <a href="/register" class="font-medium text-indigo-700 hover:underline">"Create an account"</a>
                <a href="/forgot-password" class="text-slate-600 hover:underline">"Forgot your password?"</a>
            </div>
        </AuthCard>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    view! {
        <Title text="Forgot password" />
        <AuthCard heading="Reset your password">
            <p class="text-sm text-slate-600">"Enter your email address and we will send you a link to choose a new password."</p>
            <Flash />
            <PostForm action="/forgot-password".into() class="space-y-4" label="Send reset link">
                <Field label="Email" name="email" kind="email" autocomplete="email" value=query_param("email") required=true />
                <Submit label="Send reset link" pending_label="Sending…" />
            </PostForm>
            <a href="/login" class="block text-sm text-slate-600 hover:underline">"Back to log in"</a>
        </AuthCard>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = query_param("token");
    // A link already used, expired or made up is said at once, not after a new password is typed.
    let live = Resource::new(move || token.get(), crate::account::reset_link_live);
    view! {
        <Title text="Choose a new password" />
        <AuthCard heading="Choose a new password">
            <Flash />
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    matches!(live.await, Ok(false)).then(|| view! {
                        <p role="alert" class="rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200" data-testid="reset-link-dead">
                            "This link is invalid, expired or was already used. "
                            <a href="/forgot-password" class="font-semibold underline">"Ask for a new link"</a>
                        </p>
                    })
                })}
            </Suspense>
            <PostForm action="/reset-password".into() class="space-y-4" label="Set new password">
                <input type="hidden" name="token" prop:value=move || token.get() value=move || token.get() />
                <NewPasswordField label="New password" />
                <Submit label="Set new password" pending_label="Saving…" />
            </PostForm>
        </AuthCard>
    }
}
