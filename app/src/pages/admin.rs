//! `/admin`: the admin console. Users (search by address, plan, subscription, usage this month,
//! disable and enable), Stripe events set aside after their retries (replay), failed runs by
//! failure code, the run engine's instances, and the latest admin actions. Anyone who is not an
//! admin, signed in or not, gets the ordinary "page not found" (status 404). The buttons are
//! server-function forms: they work without JavaScript too.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::not_found::NotFound;
use crate::admin::server_fns::{ReplayStripeEvent, SetUserDisabled, get_admin_overview};
use crate::admin::{AdminOverview, AdminUserView, AuditView, FailureView, InstanceView, SetAsideEventView};
use crate::error::AppError;
use crate::format::{format_cost, format_count};

const CARD: &str = "space-y-3 rounded-2xl bg-white p-6 ring-1 ring-slate-200";
const TABLE: &str = "min-w-full divide-y divide-slate-200 text-left text-sm";
const TH: &str = "px-3 py-2 font-semibold text-slate-700";
const TD: &str = "px-3 py-2 align-top";

#[component]
pub fn AdminPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let replay = ServerAction::<ReplayStripeEvent>::new();
    let overview = Resource::new(
        move || (search(), set_disabled.version().get(), replay.version().get()),
        |(search, _, _)| get_admin_overview(search),
    );
    view! {
        <Transition fallback=|| view! { <p class="px-4 py-8">"Loading…"</p> }>
            {move || overview.get().map(|result| match result {
                Ok(overview) => view! { <Console overview set_disabled replay /> }.into_any(),
                // Not an admin, or not signed in: the page does not exist for them.
                Err(AppError::NotFound(_) | AppError::SignedOut) => view! { <NotFound /> }.into_any(),
                Err(error) => view! {
                    <main id="main" class="mx-auto max-w-xl px-6 py-24">
                        <p role="alert" class="text-rose-700">{error.to_string()}</p>
                    </main>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Console(
    overview: AdminOverview,
    set_disabled: ServerAction<SetUserDisabled>,
    replay: ServerAction<ReplayStripeEvent>,
) -> impl IntoView {
    let AdminOverview {
        admin_email,
        search,
        users,
        users_limit,
        set_aside_events,
        failed_runs,
        failed_runs_days,
        instances,
        audit,
    } = overview;
    view! {
        <Title text="Admin" />
        <header class="flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3">
            <a href="/app" class="text-lg font-bold tracking-tight">"Jarvis"</a>
            <span class="text-sm text-slate-600">{format!("Admin: {admin_email}")}</span>
        </header>
        <main id="main" class="mx-auto w-full max-w-6xl space-y-8 px-4 py-8">
            <h1 class="text-2xl font-semibold">"Admin"</h1>
            {move || set_disabled.value().get().map(outcome)}
            {move || replay.value().get().map(outcome)}
            <Users users search users_limit set_disabled />
            <SetAsideEvents events=set_aside_events replay />
            <FailedRuns groups=failed_runs days=failed_runs_days />
            <Instances instances />
            <Audit audit />
        </main>
    }
}

/// What an action said once it answered.
fn outcome(result: Result<String, AppError>) -> AnyView {
    match result {
        Ok(message) => view! {
            <p role="status" class="rounded-lg bg-emerald-50 px-4 py-3 text-sm text-emerald-800 ring-1 ring-emerald-200">{message}</p>
        }
        .into_any(),
        Err(error) => view! {
            <p role="alert" class="rounded-lg bg-rose-50 px-4 py-3 text-sm text-rose-800 ring-1 ring-rose-200">{error.to_string()}</p>
        }
        .into_any(),
    }
}

#[component]
fn Users(
    users: Vec<AdminUserView>,
    search: String,
    users_limit: usize,
    set_disabled: ServerAction<SetUserDisabled>,
) -> impl IntoView {
    let summary = match (users.len(), search.is_empty()) {
        (0, true) => "No accounts yet.".to_owned(),
        (0, false) => format!("No account's address contains “{search}”."),
        (count, _) if count >= users_limit => {
            format!("The first {count} matches, newest first; search to narrow them.")
        }
        (1, _) => "1 account.".to_owned(),
        (count, _) => format!("{count} accounts, newest first."),
    };
    view! {
        <section aria-labelledby="users-heading" class=CARD>
            <h2 id="users-heading" class="text-lg font-semibold">"Users"</h2>
            <form method="get" action="/admin" role="search" class="flex flex-wrap items-end gap-3">
                <div class="space-y-1">
                    <label for="admin-search" class="block text-sm font-medium text-slate-700">"Search by email"</label>
                    <input
                        id="admin-search"
                        name="q"
                        type="search"
                        value=search
                        class="block w-72 rounded-lg border border-slate-300 bg-white px-3 py-2 shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                    />
                </div>
                <button type="submit" class="rounded-lg bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500">"Search"</button>
            </form>
            <p class="text-sm text-slate-600" data-testid="users-summary">{summary}</p>
            <div class="overflow-x-auto">
                <table class=TABLE data-testid="admin-users">
                    <caption class="sr-only">"Users, with their plan and usage this month"</caption>
                    <thead>
                        <tr>
                            <th scope="col" class=TH>"Email"</th>
                            <th scope="col" class=TH>"Plan"</th>
                            <th scope="col" class=TH>"Subscription"</th>
                            <th scope="col" class=TH>"Messages this month"</th>
                            <th scope="col" class=TH>"Tokens this month"</th>
                            <th scope="col" class=TH>"Cost this month"</th>
                            <th scope="col" class=TH>"Status"</th>
                            <th scope="col" class=TH><span class="sr-only">"Action"</span></th>
                        </tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">
                        {users.into_iter().map(|user| view! { <UserRow user set_disabled /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

#[component]
fn UserRow(user: AdminUserView, set_disabled: ServerAction<SetUserDisabled>) -> impl IntoView {
    let status = match &user.disabled_at {
        Some(at) => format!("Disabled since {at}"),
        None if user.email_verified => "Active".to_owned(),
        None => "Active (address not verified)".to_owned(),
    };
    let badges =
        format!("{}{}", if user.is_admin { " · admin" } else { "" }, if user.is_you { " · you" } else { "" });
    let action = (!user.is_you).then(|| {
        let disable = user.disabled_at.is_none();
        let label = if disable { "Disable" } else { "Enable" };
        let class = if disable {
            "rounded-md px-3 py-1.5 text-sm font-medium text-rose-700 ring-1 ring-rose-300 hover:bg-rose-50"
        } else {
            "rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100"
        };
        let (id, described) = (user.id.clone(), format!("{label} {}", user.email));
        view! {
            <ActionForm action=set_disabled>
                <input type="hidden" name="user_id" value=id />
                <input type="hidden" name="disabled" value=disable.to_string() />
                <button type="submit" class=class aria-label=described>{label}</button>
            </ActionForm>
        }
    });
    view! {
        <tr data-testid="admin-user">
            <td class=TD>
                <span class="font-medium">{user.email.clone()}</span>
                <span class="text-slate-500">{badges}</span>
                <div class="text-xs text-slate-500">{format!("{} · joined {}", user.display_name, user.created_at)}</div>
            </td>
            <td class=TD>{user.plan}</td>
            <td class=TD>{user.subscription_status.map(|status| status.replace('_', " ")).unwrap_or_else(|| "none".to_owned())}</td>
            <td class=TD>{format_count(user.messages_this_month)}</td>
            <td class=TD>{format_count(user.tokens_this_month)}</td>
            <td class=TD>{format_cost(user.cost_micros_this_month)}</td>
            <td class=TD>{status}</td>
            <td class=TD>{action}</td>
        </tr>
    }
}

/// One section of the console: its heading, an optional note, and a table of `rows` under
/// `headers` (those also in `unseen_headers` are read to screen readers only), or `empty`, a
/// sentence, when there is no row.
#[component]
fn TableSection(
    id: &'static str,
    #[prop(into)] heading: String,
    #[prop(optional)] note: Option<&'static str>,
    caption: &'static str,
    testid: &'static str,
    headers: &'static [&'static str],
    #[prop(optional)] unseen_headers: &'static [&'static str],
    empty: &'static str,
    rows: Vec<AnyView>,
) -> impl IntoView {
    let heading_id = format!("{id}-heading");
    let labelled_by = heading_id.clone();
    let body = if rows.is_empty() {
        view! { <p class="text-sm text-slate-600">{empty}</p> }.into_any()
    } else {
        let header_cells = headers
            .iter()
            .map(|header| {
                let text = if unseen_headers.contains(header) {
                    view! { <span class="sr-only">{*header}</span> }.into_any()
                } else {
                    view! { {*header} }.into_any()
                };
                view! { <th scope="col" class=TH>{text}</th> }
            })
            .collect_view();
        view! {
            <div class="overflow-x-auto">
                <table class=TABLE data-testid=testid>
                    <caption class="sr-only">{caption}</caption>
                    <thead>
                        <tr>{header_cells}</tr>
                    </thead>
                    <tbody class="divide-y divide-slate-100">{rows}</tbody>
                </table>
            </div>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby=labelled_by class=CARD>
            <h2 id=heading_id class="text-lg font-semibold">{heading}</h2>
            {note.map(|note| view! { <p class="text-sm text-slate-600">{note}</p> })}
            {body}
        </section>
    }
}

#[component]
fn SetAsideEvents(events: Vec<SetAsideEventView>, replay: ServerAction<ReplayStripeEvent>) -> impl IntoView {
    let rows = events
        .into_iter()
        .map(|event| {
            let (id, described) = (event.id.clone(), format!("Replay {}", event.id));
            view! {
                <tr>
                    <td class=TD><code>{event.id.clone()}</code></td>
                    <td class=TD>{event.event_type}</td>
                    <td class=TD>{event.received_at}</td>
                    <td class=TD>{event.attempts}</td>
                    <td class=TD>{event.last_error.unwrap_or_default()}</td>
                    <td class=TD>
                        <ActionForm action=replay>
                            <input type="hidden" name="event_id" value=id />
                            <button
                                type="submit"
                                class="rounded-md px-3 py-1.5 text-sm font-medium text-slate-700 ring-1 ring-slate-300 hover:bg-slate-100"
                                aria-label=described
                            >
                                "Replay"
                            </button>
                        </ActionForm>
                    </td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <TableSection
            id="events"
            heading="Stripe events set aside"
            note="Events the billing worker gave up on after its retries. Replay applies one again through the same handler."
            caption="Stripe events set aside after their retries"
            testid="admin-events"
            headers=&["Event", "Type", "Received", "Attempts", "Last error", "Action"]
            unseen_headers=&["Action"]
            empty="None: every Stripe event was applied or is still being retried."
            rows
        />
    }
}

#[component]
fn FailedRuns(groups: Vec<FailureView>, days: i32) -> impl IntoView {
    let rows = groups
        .into_iter()
        .map(|group| {
            view! {
                <tr>
                    <td class=TD><code>{group.error_code}</code></td>
                    <td class=TD>{format_count(group.runs)}</td>
                    <td class=TD>{format_count(group.users)}</td>
                    <td class=TD>{group.last_failed_at.unwrap_or_default()}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <TableSection
            id="failures"
            heading=format!("Failed runs, last {days} days")
            caption="Failed runs grouped by failure code"
            testid="admin-failed-runs"
            headers=&["Failure code", "Runs", "Users", "Last failed"]
            empty="No run failed."
            rows
        />
    }
}

#[component]
fn Instances(instances: Vec<InstanceView>) -> impl IntoView {
    let rows = instances
        .into_iter()
        .map(|instance| {
            view! {
                <tr>
                    <td class=TD><code>{instance.id}</code></td>
                    <td class=TD>{if instance.live { "Live" } else { "Expired" }}</td>
                    <td class=TD>{instance.last_seen_at}</td>
                    <td class=TD>{instance.lease_until}</td>
                    <td class=TD>{instance.started_at}</td>
                    <td class=TD>{format_count(instance.running_runs)}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <TableSection
            id="instances"
            heading="Instances"
            caption="Instances of the run engine and their leases"
            testid="admin-instances"
            headers=&["Instance", "Lease", "Last seen", "Lease until", "Started", "Running runs"]
            empty="No instance has registered with the run engine yet."
            rows
        />
    }
}

#[component]
fn Audit(audit: Vec<AuditView>) -> impl IntoView {
    let rows = audit
        .into_iter()
        .map(|row| {
            view! {
                <tr>
                    <td class=TD>{row.at}</td>
                    <td class=TD>{row.actor}</td>
                    <td class=TD><code>{row.action}</code></td>
                    <td class=TD>{row.target}</td>
                </tr>
            }
            .into_any()
        })
        .collect();
    view! {
        <TableSection
            id="audit"
            heading="Admin actions"
            caption="The latest admin actions"
            testid="admin-audit"
            headers=&["When", "Who", "Action", "Target"]
            empty="No admin action yet."
            rows
        />
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use leptos::prelude::*;

    use super::*;

    fn user(email: &str, is_you: bool, disabled_at: Option<&str>) -> AdminUserView {
        AdminUserView {
            id: format!("id-{email}"),
            email: email.into(),
            display_name: "Someone".into(),
            created_at: "2026-11-01 10:00:00 UTC".into(),
            email_verified: true,
            disabled_at: disabled_at.map(str::to_owned),
            is_admin: is_you,
            is_you,
            plan: "Pro".into(),
            subscription_status: Some("past_due".into()),
            messages_this_month: 1234,
            tokens_this_month: 56_789,
            cost_micros_this_month: 65_175,
        }
    }

    fn overview() -> AdminOverview {
        AdminOverview {
            admin_email: "root@example.com".into(),
            search: String::new(),
            users: vec![
                user("root@example.com", true, None),
                user("bob@example.com", false, None),
                user("eve@example.com", false, Some("2026-11-20 08:00:00 UTC")),
            ],
            users_limit: 100,
            set_aside_events: vec![SetAsideEventView {
                id: "evt_1".into(),
                event_type: "invoice.paid".into(),
                received_at: "2026-11-02 00:00:00 UTC".into(),
                attempts: 40,
                last_error: Some("given up: Stripe was away".into()),
            }],
            failed_runs: vec![FailureView {
                error_code: "overloaded".into(),
                runs: 3,
                users: 2,
                last_failed_at: Some("2026-11-26 12:00:00 UTC".into()),
            }],
            failed_runs_days: 7,
            instances: vec![InstanceView {
                id: "instance-a".into(),
                started_at: "2026-11-26 00:00:00 UTC".into(),
                last_seen_at: "2026-11-27 00:00:00 UTC".into(),
                lease_until: "2026-11-27 00:00:10 UTC".into(),
                live: false,
                running_runs: 0,
            }],
            audit: Vec::new(),
        }
    }

    fn render(overview: AdminOverview) -> String {
        Owner::new().with(|| {
            let set_disabled = ServerAction::<SetUserDisabled>::new();
            let replay = ServerAction::<ReplayStripeEvent>::new();
            view! { <Console overview set_disabled replay /> }.to_html()
        })
    }

    #[test]
    fn the_console_lists_users_with_their_actions_and_the_operational_tables() {
        let html = render(overview());
        assert!(html.contains("Admin: root@example.com"), "{html}");
        assert!(html.contains(r#"aria-label="Disable bob@example.com""#), "{html}");
        assert!(html.contains(r#"aria-label="Enable eve@example.com""#), "{html}");
        assert!(!html.contains("Disable root@example.com"), "an admin cannot disable themselves: {html}");
        assert!(html.contains("Disabled since 2026-11-20 08:00:00 UTC"), "{html}");
        assert!(html.contains("past due") && html.contains("1,234") && html.contains("56,789"), "{html}");
        assert!(
            html.contains(r#"action="/api/admin_set_disabled""#),
            "a plain form without JavaScript: {html}"
        );
        assert!(html.contains(r#"aria-label="Replay evt_1""#) && html.contains("given up: Stripe was away"));
        assert!(html.contains("Failed runs, last 7 days") && html.contains("overloaded"), "{html}");
        assert!(html.contains(">Expired<"), "{html}");
        assert!(html.contains("No admin action yet."), "{html}");
        assert_eq!(html.matches(r#"scope="col""#).count(), 8 + 6 + 4 + 6, "every column has a header");
    }

    #[test]
    fn an_empty_search_result_says_so() {
        let mut empty = overview();
        empty.search = "zzz".into();
        empty.users.clear();
        let html = render(empty);
        assert!(html.contains("No account's address contains “zzz”."), "{html}");
        assert!(html.contains(r#"value="zzz""#), "the search is kept in its field: {html}");
    }
}
