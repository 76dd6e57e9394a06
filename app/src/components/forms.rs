//! Form building blocks for pages that must work without JavaScript: plain `<form method=post>`
//! elements, labelled fields, and flash messages read from the query string (the form endpoints
//! redirect back with `?error=…` or `?notice=…`). With JavaScript on, a form shows that it is
//! being sent and cannot be sent twice.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[derive(Clone, Copy)]
struct Pending(RwSignal<bool>);

/// A form that posts to `action` and marks itself pending while the browser sends it.
#[component]
pub fn PostForm(
    action: String,
    children: Children,
    #[prop(optional, into)] class: String,
    #[prop(optional, into)] label: Option<String>,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    provide_context(Pending(pending));
    view! {
        <form method="post" action=action class=class aria-label=label on:submit=move |_| pending.set(true)>
            {children()}
        </form>
    }
}

/// The submit button of a [`PostForm`]: `label` normally, `pending_label` while sending.
#[component]
pub fn Submit(
    label: &'static str,
    pending_label: &'static str,
    #[prop(optional)] danger: bool,
    #[prop(optional)] quiet: bool,
) -> impl IntoView {
    let pending =
        use_context::<Pending>().map(|Pending(signal)| signal).unwrap_or_else(|| RwSignal::new(false));
    let class = if quiet {
        "rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100 disabled:opacity-60"
    } else if danger {
        "w-full rounded-lg bg-rose-600 px-4 py-2.5 font-semibold text-white hover:bg-rose-500 disabled:opacity-60"
    } else {
        "w-full rounded-lg bg-indigo-600 px-4 py-2.5 font-semibold text-white hover:bg-indigo-500 disabled:opacity-60"
    };
    view! {
        <button type="submit" class=class disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { pending_label } else { label }}
        </button>
    }
}

/// A labelled input. `value` is its initial value only (the `value` attribute, read once): the
/// input is not controlled by a signal, so hydration keeps whatever was typed while the wasm
/// loaded, and the browser's form post sends what is in the field.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional, into)] value: Signal<String>,
    #[prop(optional)] required: bool,
    #[prop(optional)] minlength: Option<u32>,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let has_hint = !hint.is_empty();
    view! {
        <div class="space-y-1">
            <label for=id.clone() class="block text-sm font-medium text-slate-700">{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                required=required
                minlength=minlength
                value=value.get_untracked()
                aria-describedby=has_hint.then(|| hint_id.clone())
                class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
            />
            {has_hint.then(|| view! { <p id=hint_id class="text-xs text-slate-500">{hint}</p> })}
        </div>
    }
}

/// The message for an error code sent back by a form endpoint.
pub fn error_message(code: &str, retry: Option<&str>) -> String {
    match code {
        "invalid_email" => "Enter a valid email address, like name@example.com.".into(),
        "password_too_short" => "Use at least 10 characters for your password.".into(),
        "password_too_long" => "Use at most 256 characters for your password.".into(),
        "password_common" => {
            "That password is one of the most common; choose one that is harder to guess.".into()
        }
        "password_contains_email" => "Your password must not contain your email address.".into(),
        "password_repetitive" => "Use more than one distinct character in your password.".into(),
        "invalid_credentials" => "Email or password is incorrect.".into(),
        "account_disabled" => "This account has been disabled. Contact the people who run this Jarvis if you think this is a mistake.".into(),
        "locked" => format!("Too many attempts. Try again in {}.", wait_words(retry)),
        "invalid_link" => "This link is invalid, expired or was already used.".into(),
        "wrong_password" => "That password is not correct.".into(),
        "wrong_current_password" => {
            "Your current password is not correct. Your password was not changed.".into()
        }
        "same_password" => "Choose a new password that differs from your current one.".into(),
        "subscription_live" => "Your subscription is still running. Cancel it first (Plan, then Manage subscription); then delete the account.".into(),
        "not_found" => "That no longer exists.".into(),
        _ => "Something went wrong on our side. Please try again.".into(),
    }
}

/// A wait of `seconds` (as the lock sent it) in words: seconds under two minutes, else whole
/// minutes rounded up ("15 minutes", not "900 seconds").
fn wait_words(seconds: Option<&str>) -> String {
    match seconds.and_then(|seconds| seconds.parse::<u64>().ok()) {
        None => "a few seconds".to_owned(),
        Some(1) => "1 second".to_owned(),
        Some(seconds) if seconds < 120 => format!("{seconds} seconds"),
        Some(seconds) => format!("{} minutes", seconds.div_ceil(60)),
    }
}

/// The message for a notice code sent back by a form endpoint.
pub fn notice_message(code: &str) -> Option<&'static str> {
    Some(match code {
        "check_inbox" => "Check your inbox: we sent you a link to confirm your email address.",
        "needs_javascript" => {
            "The chat needs JavaScript: turn it on in your browser and reload the page to send messages."
        }
        "verified" => "Your email address is verified.",
        "already_verified" => "Your email address is already verified.",
        "logged_out" => "You are logged out.",
        "logged_out_everywhere" => "You are logged out on every device.",
        "session_ended" => "Your session has ended. Log in again.",
        "reset_sent" => "If an account uses that address, we sent it a link to reset the password.",
        "password_reset" => "Your password was changed. Log in with the new one.",
        "account_deleted" => "Your account and everything in it were deleted.",
        // The same sentence whether a mail went out or the hourly limit held it back.
        "verification_sent" => {
            "If your address still needs confirming, a new link is on its way. Check your inbox (and spam folder)."
        }
        "password_changed" => "Your password was changed. Every other device was logged out.",
        "session_revoked" => "That device was logged out.",
        _ => return None,
    })
}

/// Which of Settings' forms an error code answers ("password", "delete"), so that it is shown
/// beside that form rather than at the top of a long page; `None`: the page's top.
pub fn settings_form_of(code: &str) -> Option<&'static str> {
    match code {
        "wrong_current_password"
        | "same_password"
        | "password_too_short"
        | "password_too_long"
        | "password_common"
        | "password_contains_email"
        | "password_repetitive" => Some("password"),
        "wrong_password" | "subscription_live" => Some("delete"),
        _ => None,
    }
}

/// The alert of a refused form: focused when the page opens, so a screen reader reads it and the
/// page scrolls to it.
fn error_alert(message: String) -> impl IntoView {
    view! {
        <p role="alert" tabindex="-1" autofocus class="rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200 focus:outline-none">{message}</p>
    }
}

/// `?error=` when it answers the Settings form `form` (see [`settings_form_of`]), beside it.
#[component]
pub fn FormError(form: &'static str) -> impl IntoView {
    let query = use_query_map();
    move || {
        let query = query.read();
        query
            .get("error")
            .filter(|code| settings_form_of(code) == Some(form))
            .map(|code| error_alert(error_message(&code, query.get("retry").as_deref())))
    }
}

/// Shows `?error=` as an alert (focused) and `?notice=` as a status message. With
/// `beside_forms` (Settings), an error that a [`FormError`] shows beside its form is left to it.
#[component]
pub fn Flash(#[prop(optional)] beside_forms: bool) -> impl IntoView {
    let query = use_query_map();
    let error = move || {
        let query = query.read();
        query
            .get("error")
            .filter(|code| !(beside_forms && settings_form_of(code).is_some()))
            .map(|code| error_message(&code, query.get("retry").as_deref()))
    };
    let notice = move || query.read().get("notice").and_then(|code| notice_message(&code));
    view! {
        // The page a refused form comes back to opens with the focus on why (a screen reader
        // reads it; Tab goes on to the form), not on the page's top.
        {move || error().map(error_alert)}
        {move || notice().map(|message| view! {
            <p role="status" class="rounded-lg bg-emerald-50 px-4 py-3 text-sm text-emerald-800 ring-1 ring-emerald-200">{message}</p>
        })}
    }
}

/// A query parameter as a signal (empty when absent).
pub fn query_param(name: &'static str) -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get(name).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_message_names_the_wait() {
        assert_eq!(error_message("locked", Some("29")), "Too many attempts. Try again in 29 seconds.");
        assert_eq!(error_message("locked", Some("1")), "Too many attempts. Try again in 1 second.");
        assert_eq!(error_message("locked", Some("900")), "Too many attempts. Try again in 15 minutes.");
        assert_eq!(error_message("locked", Some("121")), "Too many attempts. Try again in 3 minutes.");
        assert_eq!(error_message("locked", None), "Too many attempts. Try again in a few seconds.");
    }

    #[test]
    fn settings_errors_belong_to_their_forms_and_the_rest_to_the_top() {
        assert_eq!(settings_form_of("wrong_current_password"), Some("password"));
        assert_eq!(settings_form_of("password_common"), Some("password"));
        assert_eq!(settings_form_of("wrong_password"), Some("delete"));
        assert_eq!(settings_form_of("subscription_live"), Some("delete"));
        assert_eq!(settings_form_of("locked"), None);
        assert_eq!(settings_form_of("internal"), None);
    }

    #[test]
    fn unknown_codes_fall_back_to_a_generic_message_and_no_notice() {
        assert_eq!(error_message("<script>", None), "Something went wrong on our side. Please try again.");
        assert_eq!(notice_message("<script>"), None);
    }
}
