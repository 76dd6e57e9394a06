//! `/pricing`: every plan with its limits, which one is the signed-in user's, and a way to buy
//! the others. Buying is a plain form post that the server answers with a redirect to Stripe
//! Checkout, so the page is complete and usable without JavaScript. Also the pieces the billing
//! page shares: the messages of `?error=` and `?checkout=`, the "billing is off" note, the form
//! that goes to Stripe, and how limits are written.

use jarvis_types::billing::{CHECKOUT_PATH, PlanView, PricingView};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::billing::get_pricing;
use crate::components::forms::query_param;
use crate::format::{format_count, format_limit, format_size};

#[component]
pub fn PricingPage() -> impl IntoView {
    let pricing = Resource::new(|| (), |()| get_pricing());
    view! {
        <Title text="Pricing" />
        <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
            <a href="/" class="text-lg font-bold tracking-tight">"Jarvis"</a>
            <Suspense fallback=|| ()>
                {move || pricing.get().and_then(Result::ok).filter(|pricing| pricing.signed_in).map(|_| view! {
                    <a href="/app" class="text-sm font-medium text-slate-700 hover:underline">"Back to the app"</a>
                })}
            </Suspense>
        </header>
        <main id="main" class="mx-auto w-full max-w-5xl space-y-8 px-4 py-8">
            <div>
                <h1 class="text-3xl font-bold tracking-tight">"Pricing"</h1>
                <p class="mt-2 text-slate-600">"Start free. Upgrade when Jarvis earns it."</p>
            </div>
            <BillingFlash />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || pricing.get().map(|result| match result {
                    Ok(pricing) => view! { <Plans pricing /> }.into_any(),
                    Err(_) => view! {
                        <p role="alert" class="text-rose-700">"The plans could not be loaded. Reload the page."</p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn Plans(pricing: PricingView) -> impl IntoView {
    let PricingView { plans, billing_enabled, signed_in, current_plan } = pricing;
    let off_note = (!billing_enabled).then(|| {
        let name = current_plan
            .as_deref()
            .and_then(|id| plans.iter().find(|plan| plan.id == id))
            .map(|plan| plan.name.clone())
            .unwrap_or_default();
        view! { <BillingOffNote plan=name /> }
    });
    let cards = plans
        .into_iter()
        .map(|plan| {
            let is_current = signed_in && current_plan.as_deref() == Some(plan.id.as_str());
            let can_buy = signed_in && billing_enabled && plan.purchasable && !is_current;
            view! { <PlanCard plan is_current can_buy /> }
        })
        .collect_view();
    view! {
        {off_note}
        <div class="grid gap-6 sm:grid-cols-2 lg:grid-cols-3">{cards}</div>
        {(!signed_in).then(|| view! {
            <section class="rounded-2xl bg-white p-6 ring-1 ring-slate-200" aria-label="Get started">
                <p class="text-slate-700">"Create an account to get started, or log in to see your plan."</p>
                <div class="mt-4 flex flex-wrap items-center gap-4">
                    <a href="/register" class="rounded-lg bg-indigo-600 px-5 py-2.5 font-semibold text-white shadow hover:bg-indigo-500">
                        "Create an account"
                    </a>
                    <a href="/login?next=/pricing" class="font-semibold text-indigo-700 hover:underline">"Log in"</a>
                </div>
            </section>
        })}
    }
}

#[component]
fn PlanCard(plan: PlanView, is_current: bool, can_buy: bool) -> impl IntoView {
    let ring = if is_current { "ring-2 ring-indigo-600" } else { "ring-1 ring-slate-200" };
    let buy = can_buy.then(|| {
        let label = format!("Upgrade to {}", plan.name);
        view! { <StripeForm action=CHECKOUT_PATH plan=plan.id.clone() label class="mt-auto pt-6" /> }
    });
    let (aria_label, id, name, price) =
        (format!("{} plan", plan.name), plan.id.clone(), plan.name.clone(), price_line(&plan));
    view! {
        <article class=format!("flex flex-col rounded-2xl bg-white p-6 {ring}") aria-label=aria_label data-plan-id=id>
            <div class="flex items-center justify-between gap-2">
                <h2 class="text-xl font-semibold">{name}</h2>
                {is_current.then(|| view! {
                    <span data-testid="your-plan" class="rounded-full bg-indigo-50 px-2.5 py-0.5 text-xs font-medium text-indigo-700">
                        "Your plan"
                    </span>
                })}
            </div>
            <p class="mt-3 text-3xl font-bold">{price}</p>
            <PlanLimits plan />
            {buy}
        </article>
    }
}

/// The price under a plan's name. A free plan's label is often its name too ("Free"), which
/// would read "Free / Free": that case says what it costs instead.
fn price_line(plan: &PlanView) -> String {
    if plan.price_label.trim().eq_ignore_ascii_case(plan.name.trim()) && !plan.purchasable {
        "No charge".to_owned()
    } else {
        plan.price_label.clone()
    }
}

/// A plan's limits as a list of terms and values.
#[component]
fn PlanLimits(plan: PlanView) -> impl IntoView {
    let mut rows = vec![
        ("Messages per day", format_limit(plan.messages_per_day, format_count)),
        ("Messages per hour", format_limit(plan.messages_per_hour, format_count)),
        ("Tokens per month", format_limit(plan.tokens_per_month, format_count)),
        ("Voice replies", if plan.voice { "Yes" } else { "No" }.to_owned()),
        ("Storage", format_limit(plan.storage_bytes, format_size)),
    ];
    if !plan.models.is_empty() {
        rows.push(("Models", plan.models.join(", ")));
    }
    view! {
        <dl class="mt-6 space-y-2 text-sm">
            {rows.into_iter().map(|(term, value)| view! {
                <div class="flex justify-between gap-4">
                    <dt class="text-slate-600">{term}</dt>
                    <dd class="text-right font-medium">{value}</dd>
                </div>
            }).collect_view()}
        </dl>
    }
}

/// The note shown instead of anything to buy when the server has no Stripe key.
#[component]
pub(crate) fn BillingOffNote(plan: String) -> impl IntoView {
    view! {
        <p data-testid="billing-off" class="rounded-lg bg-slate-100 px-4 py-3 text-sm text-slate-700 ring-1 ring-slate-200">
            {format!("Billing is off on this server: every account has the {plan} plan.")}
        </p>
    }
}

/// A form that posts to one of billing's endpoints, which answer with a redirect to Stripe.
/// `plan` goes along as the `plan` field (Checkout needs it). With JavaScript on, the button
/// shows that the form is being sent, and comes back to life when the browser returns to the
/// page from its back-forward cache.
#[component]
pub(crate) fn StripeForm(
    action: &'static str,
    label: String,
    #[prop(optional)] plan: Option<String>,
    #[prop(optional, into)] class: String,
) -> impl IntoView {
    let pending = RwSignal::new(false);
    // An effect, so that only the browser listens.
    Effect::new(move |_| {
        let listener = window_event_listener_untyped("pageshow", move |_| pending.set(false));
        on_cleanup(move || listener.remove());
    });
    let label_text = label.clone();
    view! {
        <form method="post" action=action class=class aria-label=label on:submit=move |_| pending.set(true)>
            {plan.map(|plan| view! { <input type="hidden" name="plan" value=plan /> })}
            <button
                type="submit"
                class="rounded-lg bg-indigo-600 px-4 py-2.5 font-semibold text-white hover:bg-indigo-500 disabled:opacity-60"
                disabled=move || pending.get()
                aria-busy=move || pending.get().to_string()
            >
                {move || if pending.get() { "Opening Stripe…".to_owned() } else { label_text.clone() }}
            </button>
        </form>
    }
}

/// The sentence for an error code that billing's form endpoints send back in `?error=`.
pub(crate) fn billing_error_message(code: &str) -> &'static str {
    match code {
        "billing_off" => "Billing is off on this server, so there is nothing to buy or manage.",
        "unknown_plan" => "That plan is not on offer. Choose one of the plans on the pricing page.",
        "already_subscribed" => {
            "You already have a subscription. Change it with Manage subscription on the billing page."
        }
        "no_customer" => "You have no subscription to manage yet.",
        "stripe_unavailable" => {
            "Stripe could not complete this just now. Nothing was charged; try again in a minute."
        }
        _ => "Something went wrong on our side. Nothing was charged; please try again.",
    }
}

/// The sentence for `?checkout=`, where Stripe Checkout sends people back.
pub(crate) fn checkout_message(outcome: &str) -> Option<&'static str> {
    Some(match outcome {
        "success" => {
            "Thanks! Your payment went through; your plan changes as soon as Stripe confirms it (reload in a moment)."
        }
        "cancelled" => "Checkout was cancelled; nothing was charged.",
        _ => return None,
    })
}

/// Shows `?error=` as an alert and `?checkout=` as a status message.
#[component]
pub(crate) fn BillingFlash() -> impl IntoView {
    let error = query_param("error");
    let checkout = query_param("checkout");
    view! {
        {move || (!error.get().is_empty()).then(|| view! {
            <p role="alert" data-testid="billing-error" class="rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200">
                {billing_error_message(&error.get())}
            </p>
        })}
        {move || checkout_message(&checkout.get()).map(|message| view! {
            <p role="status" data-testid="checkout-notice" class="rounded-lg bg-emerald-50 px-4 py-3 text-sm text-emerald-800 ring-1 ring-emerald-200">
                {message}
            </p>
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "ssr")]
    fn pricing(signed_in: bool, billing_enabled: bool) -> PricingView {
        let plan = |id: &str, name: &str, purchasable: bool| PlanView {
            id: id.into(),
            name: name.into(),
            price_label: if purchasable { "$20 / month".into() } else { "Free".into() },
            messages_per_day: Some(20),
            messages_per_hour: None,
            tokens_per_month: Some(200_000),
            voice: purchasable,
            storage_bytes: Some(100 << 20),
            models: if purchasable { vec!["claude-haiku-4-5".into()] } else { Vec::new() },
            purchasable: purchasable && billing_enabled,
        };
        PricingView {
            plans: vec![plan("free", "Free", false), plan("pro", "Pro", true)],
            billing_enabled,
            signed_in,
            current_plan: (signed_in || !billing_enabled).then(|| "free".to_owned()),
        }
    }

    #[cfg(feature = "ssr")]
    fn render(pricing: PricingView) -> String {
        Owner::new().with(|| view! { <Plans pricing /> }.to_html())
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_signed_in_user_sees_their_plan_and_can_buy_the_others() {
        let html = render(pricing(true, true));
        assert!(
            html.contains(r#"aria-label="Free plan""#) && html.contains(r#"data-testid="your-plan""#),
            "{html}"
        );
        assert!(html.contains(r#"<input type="hidden" name="plan" value="pro""#), "{html}");
        assert!(html.contains(">Upgrade to Pro<") && !html.contains("Upgrade to Free"), "{html}");
        assert!(html.contains("Unlimited") && html.contains("200,000") && html.contains("claude-haiku-4-5"));
        assert!(!html.contains("Create an account"), "{html}");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_free_plan_named_free_does_not_read_free_twice() {
        let html = render(pricing(false, true));
        assert!(html.contains(">No charge</p>"), "{html}");
        assert!(!html.contains(">Free</p>"), "{html}");
        assert!(html.contains(">$20 / month</p>"), "{html}");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_visitor_is_invited_to_register_and_offered_nothing_to_buy() {
        let html = render(pricing(false, true));
        assert!(html.contains(r#"href="/register""#) && html.contains(">Log in<"), "{html}");
        assert!(!html.contains("<form") && !html.contains("Your plan"), "{html}");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn with_billing_off_every_visitor_reads_which_plan_everyone_has() {
        let html = render(pricing(false, false));
        assert!(html.contains("Billing is off on this server: every account has the Free plan."), "{html}");
        assert!(!html.contains("<form"), "{html}");
    }

    #[test]
    fn unknown_codes_get_a_generic_message_and_no_checkout_notice() {
        assert_eq!(
            billing_error_message("<script>"),
            "Something went wrong on our side. Nothing was charged; please try again."
        );
        assert_eq!(checkout_message("<script>"), None);
        assert_eq!(checkout_message("cancelled"), Some("Checkout was cancelled; nothing was charged."));
    }
}
