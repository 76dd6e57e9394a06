//! `/billing`: the signed-in user's plan and subscription, this month's usage against the plan's
//! limits, what it cost, and the ways to Stripe (Checkout to upgrade, the Customer Portal to
//! manage), as plain form posts so that the page works without JavaScript.

use jarvis_types::billing::{BillingView, CHECKOUT_PATH, Meter, PORTAL_PATH, SubscriptionView};
use leptos::prelude::*;
use leptos_meta::Title;

use super::pricing::{BillingFlash, BillingOffNote, StripeForm};
use crate::billing::get_billing;
use crate::error::AppError;
use crate::format::{format_cost, format_count, format_size};

#[component]
pub fn BillingPage() -> impl IntoView {
    let billing = Resource::new(|| (), |()| get_billing());
    view! {
        <Title text="Billing" />
        <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
            <a href="/app" class="text-lg font-bold tracking-tight">"Jarvis"</a>
            <a href="/app" class="text-sm font-medium text-slate-700 hover:underline">"Back to the app"</a>
        </header>
        <main id="main" class="mx-auto w-full max-w-3xl space-y-8 px-4 py-8">
            <h1 class="text-2xl font-semibold">"Billing"</h1>
            <BillingFlash />
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || billing.get().map(|result| match result {
                    Ok(billing) => view! { <BillingOverview billing /> }.into_any(),
                    Err(AppError::SignedOut) => view! {
                        <p role="alert" class="text-rose-700">
                            "Log in to see your plan and usage. "
                            <a href="/login?next=/billing" class="font-semibold underline">"Log in"</a>
                        </p>
                    }.into_any(),
                    Err(_) => view! {
                        <p role="alert" class="text-rose-700">"Your plan and usage could not be loaded. Reload the page."</p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn BillingOverview(billing: BillingView) -> impl IntoView {
    let plan_name = billing.plan.name.clone();
    let actions = if billing.billing_enabled {
        view! { <BillingActions upgrades=billing.upgrades has_customer=billing.has_customer /> }.into_any()
    } else {
        view! { <BillingOffNote plan=plan_name.clone() /> }.into_any()
    };
    let past_due = billing.past_due.then(|| {
        view! {
            <p role="alert" data-testid="past-due" class="rounded-lg bg-amber-50 px-4 py-3 text-sm text-amber-900 ring-1 ring-amber-200">
                {format!(
                    "Your last payment failed. Stripe will retry; update your card in Manage subscription to keep {plan_name}."
                )}
            </p>
        }
    });
    view! {
        <section aria-labelledby="plan-heading" class="space-y-3 rounded-2xl bg-white p-6 ring-1 ring-slate-200">
            <h2 id="plan-heading" class="text-lg font-semibold">"Plan"</h2>
            <p class="text-lg">"Current plan: " <strong data-testid="current-plan">{billing.plan.name.clone()}</strong></p>
            <p class="text-sm text-slate-600">{billing.plan.price_label.clone()}</p>
            {billing.subscription.map(|subscription| view! { <Subscription subscription /> })}
            {past_due}
            {actions}
        </section>
        <section aria-labelledby="usage-heading" class="space-y-4 rounded-2xl bg-white p-6 ring-1 ring-slate-200">
            <h2 id="usage-heading" class="text-lg font-semibold">"Usage"</h2>
            <UsageMeter id="messages-today" label="Messages today" meter=billing.messages_today format=format_count />
            <UsageMeter id="messages-this-hour" label="Messages this hour" meter=billing.messages_this_hour format=format_count />
            <UsageMeter id="tokens-this-month" label="Tokens this month" meter=billing.tokens_this_month format=format_count />
            <UsageMeter id="storage" label="Storage" meter=billing.storage_bytes format=format_size />
        </section>
        <section aria-labelledby="tokens-heading" class="space-y-3 rounded-2xl bg-white p-6 ring-1 ring-slate-200">
            <h2 id="tokens-heading" class="text-lg font-semibold">"Tokens this month, by kind"</h2>
            <dl class="grid grid-cols-2 gap-x-6 gap-y-2 text-sm sm:grid-cols-4">
                <TokenCount id="input" label="Input" count=billing.input_tokens />
                <TokenCount id="output" label="Output" count=billing.output_tokens />
                <TokenCount id="cache-read" label="Cache read" count=billing.cache_read_tokens />
                <TokenCount id="cache-write" label="Cache write" count=billing.cache_write_tokens />
            </dl>
            <p class="font-medium" data-testid="estimated-cost">
                {format!("Estimated cost: {}", format_cost(billing.estimated_cost_micros))}
            </p>
            <p class="text-xs text-slate-500">"At the model's list prices; what you pay is your plan's price."</p>
        </section>
    }
}

/// The subscription's state as Stripe last told it: the status when it is not simply active,
/// and when it renews or ends while it still entitles to the plan.
#[component]
fn Subscription(subscription: SubscriptionView) -> impl IntoView {
    let status = (subscription.status != "active").then(|| {
        view! {
            <p class="text-sm" data-testid="subscription-status">
                {format!("Subscription status: {}", subscription.status.replace('_', " "))}
            </p>
        }
    });
    let date = subscription.current_period_end.filter(|_| subscription.live).map(|end| {
        let day = end.get(..10).unwrap_or(&end).to_owned();
        let text = if subscription.cancel_at_period_end {
            format!("Ends on {day}")
        } else {
            format!("Renews on {day}")
        };
        view! { <p class="text-sm text-slate-700" data-testid="subscription-period">{text}</p> }
    });
    view! { {status} {date} }
}

/// Upgrade buttons (to Stripe Checkout) and, for an existing customer, the Customer Portal.
#[component]
fn BillingActions(upgrades: Vec<jarvis_types::billing::PlanView>, has_customer: bool) -> impl IntoView {
    view! {
        <div class="flex flex-wrap items-center gap-3 pt-2">
            {upgrades.into_iter().map(|plan| {
                let label = format!("Upgrade to {}", plan.name);
                view! { <StripeForm action=CHECKOUT_PATH plan=plan.id label /> }
            }).collect_view()}
            {has_customer.then(|| view! { <StripeForm action=PORTAL_PATH label="Manage subscription".to_owned() /> })}
            <a href="/pricing" class="text-sm font-medium text-indigo-700 hover:underline">"Compare plans"</a>
        </div>
    }
}

/// One limit: "used of limit" with a meter, or "used (unlimited)".
#[component]
fn UsageMeter(
    id: &'static str,
    label: &'static str,
    meter: Meter,
    format: fn(u64) -> String,
) -> impl IntoView {
    let meter_id = format!("meter-{id}");
    let text = match meter.limit {
        Some(limit) => format!("{} of {}", format(meter.used), format(limit)),
        None => format!("{} (unlimited)", format(meter.used)),
    };
    let bar = meter.limit.map(|limit| {
        // Warn from 80% and alarm from 95%: the browser colours the meter accordingly.
        let (low, high) = (limit as f64 * 0.8, limit as f64 * 0.95);
        view! {
            <meter
                id=meter_id.clone()
                class="h-2 w-full"
                min="0"
                max=limit.to_string()
                low=low.to_string()
                high=high.to_string()
                optimum="0"
                value=meter.used.to_string()
            >
                {text.clone()}
            </meter>
        }
    });
    let label_for = meter.limit.map(|_| meter_id.clone());
    view! {
        <div class="space-y-1" data-testid=meter_id>
            <div class="flex justify-between gap-4 text-sm">
                <label for=label_for class="text-slate-700">{label}</label>
                <span class="font-medium">{text}</span>
            </div>
            {bar}
        </div>
    }
}

#[component]
fn TokenCount(id: &'static str, label: &'static str, count: u64) -> impl IntoView {
    view! {
        <div data-testid=format!("tokens-{id}")>
            <dt class="text-slate-600">{label}</dt>
            <dd class="font-medium">{format_count(count)}</dd>
        </div>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use jarvis_types::billing::PlanView;
    use leptos::prelude::*;

    use super::*;

    fn plan(id: &str, name: &str) -> PlanView {
        PlanView {
            id: id.into(),
            name: name.into(),
            price_label: "$20 / month".into(),
            messages_per_day: Some(500),
            messages_per_hour: None,
            tokens_per_month: Some(10_000_000),
            voice: true,
            storage_bytes: Some(10 << 30),
            models: Vec::new(),
            purchasable: true,
        }
    }

    fn overview() -> BillingView {
        let meter = |used, limit| Meter { used, limit };
        BillingView {
            billing_enabled: true,
            plan: plan("pro", "Pro"),
            subscription: Some(SubscriptionView {
                status: "past_due".into(),
                current_period_end: Some("2026-12-22T04:00:00+00:00".into()),
                cancel_at_period_end: false,
                live: true,
            }),
            past_due: true,
            has_customer: true,
            upgrades: vec![plan("team", "Team")],
            messages_today: meter(3, Some(500)),
            messages_this_hour: meter(2, None),
            tokens_this_month: meter(12_345, Some(10_000_000)),
            storage_bytes: meter(0, Some(10 << 30)),
            input_tokens: 10_000,
            output_tokens: 2_345,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            estimated_cost_micros: 65_175,
        }
    }

    fn render(billing: BillingView) -> String {
        Owner::new().with(|| view! { <BillingOverview billing /> }.to_html())
    }

    #[test]
    fn a_past_due_subscription_warns_and_offers_the_portal_and_upgrades() {
        let html = render(overview());
        assert!(html.contains(r#"data-testid="current-plan">Pro<"#), "{html}");
        assert!(html.contains("Subscription status: past due"), "{html}");
        assert!(html.contains("Renews on 2026-12-22"), "{html}");
        assert!(html.contains("update your card in Manage subscription to keep Pro."), "{html}");
        assert!(html.contains(r#"action="/billing/checkout""#) && html.contains(r#"value="team""#), "{html}");
        assert!(html.contains(">Upgrade to Team<") && html.contains(">Manage subscription<"), "{html}");
        assert!(
            html.contains("3 of 500")
                && html.contains("2 (unlimited)")
                && html.contains("12,345 of 10,000,000")
        );
        assert!(html.contains("Estimated cost: $0.07"), "{html}");
    }

    #[test]
    fn with_billing_off_there_is_a_note_and_nothing_to_buy() {
        let mut billing = overview();
        billing.billing_enabled = false;
        billing.subscription = None;
        billing.past_due = false;
        let html = render(billing);
        assert!(html.contains("Billing is off on this server: every account has the Pro plan."), "{html}");
        assert!(!html.contains("<form"), "{html}");
    }

    #[test]
    fn a_subscription_set_to_cancel_says_when_it_ends() {
        let mut billing = overview();
        billing.subscription = Some(SubscriptionView {
            status: "active".into(),
            current_period_end: Some("2026-12-22T04:00:00+00:00".into()),
            cancel_at_period_end: true,
            live: true,
        });
        billing.past_due = false;
        let html = render(billing);
        assert!(html.contains("Ends on 2026-12-22") && !html.contains("Subscription status"), "{html}");
        assert!(!html.contains("past-due"), "{html}");
    }
}
