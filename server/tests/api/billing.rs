//! Billing end to end: plan limits checked before a run (nothing stored, nothing sent to the
//! model when refused), a rate limit shared by two instances, metering, and Stripe — Checkout and
//! the portal against the project's fake Stripe, and its signed webhooks (duplicates, events out
//! of order, failed payments) converging on Stripe's state.

use std::sync::Arc;
use std::time::Duration;

use jarvis_server::startup::Application;
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply, Script};
use jarvis_testkit::fake_stripe::{self, FAKE_SECRET_KEY, FakeStripe};
use jarvis_types::protocol::{Limit, RunEvent, RunStatus, ServerMessage};
use tokio_util::sync::CancellationToken;

use crate::chat::{Socket, ask, next, open, send, until_finished};
use crate::helpers::{Client, TestApp, location, plans_file, spawn_app_with, test_config};

const WEBHOOK_SECRET: &str = "whsec_jarvis_test";
const PRO_PRICE: &str = "price_pro_monthly";

/// A model that answers every request with a short reply of 60 input and 50 output tokens.
async fn model() -> FakeAnthropic {
    let fake = FakeAnthropic::start().await;
    fake.set_fallback(Arc::new(|_| Script::Reply(Reply::text("Noted.").usage(60, 50))));
    fake
}

/// Sends one message and waits for the run to finish; returns the refusal instead if refused.
async fn say(socket: &mut Socket, text: &str) -> Result<RunStatus, ServerMessage> {
    send(socket, &ask(None, text)).await;
    loop {
        match next(socket).await {
            ServerMessage::Run { event: RunEvent::Finished { status, .. }, .. } => return Ok(status),
            ServerMessage::Run { .. } => {}
            other => return Err(other),
        }
    }
}

/// The configuration of an app whose model is `fake` and whose plans are `plans` (JSON).
fn plan_env(fake: &FakeAnthropic, plans: &str) -> Vec<(String, String)> {
    vec![
        ("ANTHROPIC_BASE_URL".into(), fake.base_url()),
        ("ANTHROPIC_API_KEY".into(), "sk-ant-test".into()),
        ("JARVIS_PLANS_FILE".into(), plans_file(plans)),
    ]
}

fn borrowed(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect()
}

async fn app_with_plans(fake: &FakeAnthropic, plans: &str) -> TestApp {
    spawn_app_with(&borrowed(&plan_env(fake, plans))).await
}

/// A second instance on the app's database; returns its port, its stop signal and its task.
async fn sibling(
    app: &TestApp,
    env: &[(String, String)],
) -> (u16, CancellationToken, tokio::task::JoinHandle<Result<(), jarvis_server::startup::StartupError>>) {
    let (config, _) = test_config(&app.database_name, &borrowed(env));
    let sibling = Application::build(config).await.unwrap();
    let port = sibling.port();
    let stop = CancellationToken::new();
    let task = tokio::spawn(sibling.run_until(stop.clone().cancelled_owned()));
    (port, stop, task)
}

/// A new signed-in user with a socket open.
async fn connected(app: &TestApp) -> (Client, Socket) {
    let (client, _) = app.signed_in_client().await;
    let socket = open(app.port, &client).await;
    (client, socket)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn the_daily_limit_admits_exactly_its_messages_then_refuses_without_storing_or_calling_the_model() {
    let fake = model().await;
    let app = app_with_plans(
        &fake,
        r#"{"plans": [{"id": "free", "name": "Free", "messages_per_day": 2}], "default_plan": "free"}"#,
    )
    .await;
    let (_client, mut socket) = connected(&app).await;

    assert_eq!(say(&mut socket, "one").await, Ok(RunStatus::Completed));
    assert_eq!(say(&mut socket, "two").await, Ok(RunStatus::Completed));
    let refusal = say(&mut socket, "three").await.unwrap_err();
    let ServerMessage::LimitReached { limit, message, upgrade_url, retry_after_secs } = refusal else {
        panic!("expected a limit, got {refusal:?}");
    };
    assert_eq!(limit, Limit::MessagesPerDay);
    assert!(message.contains("all 2 messages your Free plan allows today"), "{message}");
    assert_eq!(upgrade_url, None, "billing is off: there is nothing to upgrade to");
    let wait = retry_after_secs.expect("the day ends");
    assert!(wait > 0 && wait <= 86_400, "{wait}");

    assert_eq!(fake.requests().len(), 2, "the refused message never reached the model");
    assert_eq!(count(&app, "SELECT count(*) FROM runs").await, 2);
    assert_eq!(count(&app, "SELECT count(*) FROM messages WHERE role = 'user'").await, 2);
    assert_eq!(count(&app, "SELECT count(*) FROM usage_records").await, 2);

    // Deleting the conversations does not give the messages back.
    sqlx::query("DELETE FROM conversations").execute(&app.owner_pool).await.unwrap();
    assert!(matches!(
        say(&mut socket, "four").await,
        Err(ServerMessage::LimitReached { limit: Limit::MessagesPerDay, .. })
    ));
    assert_eq!(fake.requests().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn tokens_and_cost_are_metered_per_run_and_the_monthly_token_quota_refuses_the_next_run() {
    let fake = model().await;
    let plans = plans_file(
        r#"{"plans": [{"id": "free", "name": "Free", "tokens_per_month": 111, "models": ["claude-haiku-4-5"]}],
            "default_plan": "free"}"#,
    );
    let app = spawn_app_with(&[
        ("ANTHROPIC_BASE_URL", &fake.base_url()),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("ANTHROPIC_MODEL", "claude-sonnet-4-5"),
        ("JARVIS_PLANS_FILE", &plans),
    ])
    .await;
    let (_client, mut socket) = connected(&app).await;

    assert_eq!(say(&mut socket, "Hello").await, Ok(RunStatus::Completed));
    // The plan names its model: the run used it rather than the server's.
    assert_eq!(fake.requests()[0].body["model"], "claude-haiku-4-5");
    let (model, input, output, cost): (String, i64, i64, i64) =
        sqlx::query_as("SELECT model, input_tokens, output_tokens, cost_micros FROM usage_records")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!((model.as_str(), input, output), ("claude-haiku-4-5", 60, 50));
    // Haiku 4.5: $1 in, $5 out per million tokens = 1 and 5 micro-dollars a token.
    assert_eq!(cost, 60 + 50 * 5);

    // 110 of 111 tokens used: one more run is admitted (its budget capped to the 1 token left,
    // so it makes a single model call), then, 220 used, the next is refused before the model is
    // asked.
    assert_eq!(say(&mut socket, "Again").await, Ok(RunStatus::Completed));
    let refusal = say(&mut socket, "Once more").await.unwrap_err();
    assert!(
        matches!(&refusal, ServerMessage::LimitReached { limit: Limit::TokensPerMonth, message, .. } if message.contains("111 tokens")),
        "{refusal:?}"
    );
    assert_eq!(fake.requests().len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn two_instances_on_one_database_share_the_hourly_rate_limit() {
    let fake = model().await;
    let env = plan_env(
        &fake,
        r#"{"plans": [{"id": "free", "name": "Free", "messages_per_hour": 3}], "default_plan": "free"}"#,
    );
    let app = spawn_app_with(&borrowed(&env)).await;
    let (sibling_port, stop_sibling, sibling_task) = sibling(&app, &env).await;
    let (client, _) = app.signed_in_client().await;
    let mut here = open(app.port, &client).await;
    let mut there = open(sibling_port, &client).await;

    assert_eq!(say(&mut here, "1").await, Ok(RunStatus::Completed));
    assert_eq!(say(&mut there, "2").await, Ok(RunStatus::Completed));
    assert_eq!(say(&mut here, "3").await, Ok(RunStatus::Completed));
    for socket in [&mut there, &mut here] {
        let refusal = say(socket, "4").await.unwrap_err();
        let ServerMessage::LimitReached { limit: Limit::MessagesPerHour, message, retry_after_secs, .. } =
            refusal
        else {
            panic!("expected the hourly limit, got {refusal:?}");
        };
        // The oldest of the three frees its slot an hour after it was sent.
        let wait = retry_after_secs.unwrap();
        assert!((3_500..=3_600).contains(&wait), "{wait}");
        assert!(
            message.contains("Try again in 60 minutes") || message.contains("Try again in 59 minutes"),
            "{message}"
        );
    }

    // Once the oldest message is more than an hour old, one more is admitted (on either instance).
    sqlx::query(
        "UPDATE usage_records SET started_at = now() - interval '61 minutes'
          WHERE run_id = (SELECT run_id FROM usage_records ORDER BY started_at LIMIT 1)",
    )
    .execute(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(say(&mut there, "5").await, Ok(RunStatus::Completed));
    assert!(matches!(say(&mut here, "6").await, Err(ServerMessage::LimitReached { .. })));
    assert_eq!(fake.requests().len(), 4);
    stop_sibling.cancel();
    sibling_task.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn over_the_hourly_limit_the_retry_time_is_when_enough_messages_have_aged_out() {
    let fake = model().await;
    let app = app_with_plans(
        &fake,
        r#"{"plans": [{"id": "free", "name": "Free", "messages_per_hour": 2}], "default_plan": "free"}"#,
    )
    .await;
    let (client, _) = app.signed_in_client().await;
    // Three messages in the last hour (sent on a bigger plan), 50, 40 and 30 minutes ago: a new
    // one is allowed when only one is left in the hour, i.e. when the one of 40 minutes ago is
    // an hour old, in 20 minutes.
    for minutes in [50, 40, 30] {
        sqlx::query(
            "INSERT INTO usage_records (run_id, user_id, model, started_at)
             SELECT gen_random_uuid(), id, 'claude-sonnet-4-5', now() - make_interval(mins => $1) FROM users",
        )
        .bind(minutes)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    }
    let mut socket = open(app.port, &client).await;
    let refusal = say(&mut socket, "now?").await.unwrap_err();
    let ServerMessage::LimitReached { limit: Limit::MessagesPerHour, retry_after_secs: Some(wait), .. } =
        refusal
    else {
        panic!("expected the hourly limit with a retry time, got {refusal:?}");
    };
    assert!((1_190..=1_200).contains(&wait), "{wait}");
    assert!(fake.requests().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn the_agent_cannot_save_a_document_beyond_the_plans_storage() {
    let fake = FakeAnthropic::start().await;
    let content = "x".repeat(600);
    fake.reply(Reply::tool_use(
        "toolu_1",
        "save_document",
        serde_json::json!({"title": "Big", "kind": "text", "content": content}),
    ));
    fake.reply(Reply::text("Your storage is full."));
    let app = app_with_plans(
        &fake,
        r#"{"plans": [{"id": "free", "name": "Free", "storage_bytes": 500}], "default_plan": "free"}"#,
    )
    .await;
    let (_client, mut socket) = connected(&app).await;
    send(&mut socket, &ask(None, "Save a big note")).await;
    let events = until_finished(&mut socket).await;
    assert!(
        events.iter().any(|(_, _, event)| matches!(event,
            RunEvent::ToolResult { name, is_error: true, output, .. }
                if name == "save_document" && output.contains("storage is full") && output.contains("500 bytes left"))),
        "{events:?}"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM documents").await, 0, "nothing was saved");
    app.stop().await;
}

#[tokio::test]
async fn concurrent_sends_on_two_instances_never_exceed_the_limit() {
    let fake = model().await;
    let env = plan_env(
        &fake,
        r#"{"plans": [{"id": "free", "name": "Free", "messages_per_day": 3}], "default_plan": "free"}"#,
    );
    let app = spawn_app_with(&borrowed(&env)).await;
    let (sibling_port, stop_sibling, sibling_task) = sibling(&app, &env).await;
    let (client, _) = app.signed_in_client().await;

    // Eight new conversations at once, four through each instance.
    let mut sockets = Vec::new();
    for index in 0..8 {
        let port = if index % 2 == 0 { app.port } else { sibling_port };
        sockets.push(open(port, &client).await);
    }
    let outcomes = futures::future::join_all(
        sockets
            .iter_mut()
            .enumerate()
            .map(|(index, socket)| async move { say(socket, &format!("m{index}")).await }),
    )
    .await;
    let admitted = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|outcome| {
            matches!(outcome, Err(ServerMessage::LimitReached { limit: Limit::MessagesPerDay, .. }))
        })
        .count();
    assert_eq!((admitted, refused), (3, 5), "{outcomes:?}");
    assert_eq!(count(&app, "SELECT count(*) FROM usage_records").await, 3);
    stop_sibling.cancel();
    sibling_task.await.unwrap().unwrap();
    app.stop().await;
}

/// The app with Stripe on (pointed at the fake), Free limited to one message a day, Pro to many.
async fn with_stripe() -> (FakeStripe, FakeAnthropic, TestApp) {
    let stripe = FakeStripe::start().await.unwrap();
    stripe.add_price(PRO_PRICE, "Jarvis Pro", 2000);
    let fake = model().await;
    let plans = plans_file(&format!(
        r#"{{"plans": [
            {{"id": "free", "name": "Free", "messages_per_day": 1, "voice": false}},
            {{"id": "pro", "name": "Pro", "price_id": "{PRO_PRICE}", "price_label": "$20 / month", "messages_per_day": 100}}
        ], "default_plan": "free"}}"#
    ));
    let app = spawn_app_with(&[
        ("ANTHROPIC_BASE_URL", &fake.base_url()),
        ("ANTHROPIC_API_KEY", "sk-ant-test"),
        ("JARVIS_PLANS_FILE", &plans),
        ("STRIPE_SECRET_KEY", FAKE_SECRET_KEY),
        ("STRIPE_API_BASE", &stripe.base_url()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ])
    .await;
    stripe.set_webhook(&format!("{}/webhooks/stripe", app.address), vec![WEBHOOK_SECRET.to_owned()]);
    (stripe, fake, app)
}

/// Starts a checkout for Pro and returns the Checkout Session's id (from Stripe's page address).
async fn start_checkout(stripe: &FakeStripe, client: &Client) -> String {
    let response = client.post_form("/billing/checkout", &[("plan", "pro")]).await;
    assert_eq!(response.status(), 303);
    let page = location(&response);
    assert!(page.starts_with(&format!("{}checkout/", stripe.base_url())), "{page}");
    page.rsplit('/').next().unwrap().to_owned()
}

/// Waits until the user's subscription row satisfies `done`.
async fn wait_for_subscription(
    app: &TestApp,
    done: impl Fn(&(Option<String>, String)) -> bool,
) -> (Option<String>, String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let row: Option<(Option<String>, String)> =
            sqlx::query_as("SELECT plan_id, status FROM subscriptions ORDER BY updated_at DESC LIMIT 1")
                .fetch_optional(&app.owner_pool)
                .await
                .unwrap();
        if let Some(row) = row {
            if done(&row) {
                return row;
            }
        }
        assert!(tokio::time::Instant::now() < deadline, "the subscription did not change as expected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn checkout_then_webhook_moves_the_user_to_pro_and_the_portal_manages_it() {
    let (stripe, _fake, app) = with_stripe().await;
    let (client, _) = app.signed_in_client().await;
    let user_id: uuid::Uuid =
        sqlx::query_scalar("SELECT id FROM users").fetch_one(&app.owner_pool).await.unwrap();
    let mut socket = open(app.port, &client).await;
    assert_eq!(say(&mut socket, "first").await, Ok(RunStatus::Completed));
    let refusal = say(&mut socket, "second").await.unwrap_err();
    assert!(
        matches!(&refusal, ServerMessage::LimitReached { upgrade_url: Some(url), .. } if url == "/pricing"),
        "{refusal:?}"
    );

    let session = start_checkout(&stripe, &client).await;
    let requests = stripe.requests();
    let posts: Vec<_> = requests.iter().filter(|request| request.method == "POST").collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[0].path.starts_with("/v1/customers"));
    assert!(posts[1].path.starts_with("/v1/checkout/sessions"));
    for request in &requests {
        let header = |name: &str| request.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name));
        assert_eq!(
            header("stripe-version").map(|(_, value)| value.as_str()),
            Some(jarvis_backend::billing::stripe::api_version()),
            "the API version is pinned on every request"
        );
        if request.method == "POST" {
            assert!(header("idempotency-key").is_some(), "every POST carries an Idempotency-Key");
        }
    }
    let form: Vec<(String, String)> =
        url::form_urlencoded::parse(posts[1].body.as_bytes()).into_owned().collect();
    let field = |name: &str| form.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str());
    assert_eq!(field("mode"), Some("subscription"));
    assert_eq!(field("client_reference_id"), Some(user_id.to_string().as_str()));
    assert_eq!(field("line_items[0][price]"), Some(PRO_PRICE));
    assert!(field("customer").is_some_and(|customer| customer.starts_with("cus_")));

    // Leaving Checkout and starting again (or a second tab) leads back to the same open session:
    // one payment page, so never two subscriptions; one customer.
    let again = start_checkout(&stripe, &client).await;
    assert_eq!(again, session);
    let posts = |path: &str| {
        stripe.requests().iter().filter(|r| r.method == "POST" && r.path.starts_with(path)).count()
    };
    assert_eq!(posts("/v1/customers"), 1, "the customer is created once");
    assert_eq!(posts("/v1/checkout/sessions"), 1, "the open session is reused");

    stripe.complete_checkout(&session).await.unwrap();
    let (plan, status) = wait_for_subscription(&app, |(_, status)| status == "active").await;
    assert_eq!((plan.as_deref(), status.as_str()), (Some("pro"), "active"));
    assert_eq!(say(&mut socket, "now as Pro").await, Ok(RunStatus::Completed));

    let page = client.get("/billing").await.text().await.unwrap();
    assert!(page.contains(r#"data-testid="current-plan">Pro<"#), "the billing page shows the plan");

    // An account Stripe still bills cannot be deleted (the subscription would be orphaned).
    let response =
        client.post_form("/settings/delete-account", &[("password", crate::helpers::PASSWORD)]).await;
    assert_eq!(location(&response), "/settings?error=subscription_live");
    assert_eq!(count(&app, "SELECT count(*) FROM users").await, 1);

    // A second checkout while subscribed is refused; the portal is offered instead.
    let response = client.post_form("/billing/checkout", &[("plan", "pro")]).await;
    assert_eq!(location(&response), "/pricing?error=already_subscribed");
    let response = client.post_form("/billing/portal", &[]).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with(&format!("{}portal/", stripe.base_url())));
    app.stop().await;
}

#[tokio::test]
async fn the_same_event_delivered_twice_is_applied_once() {
    let (stripe, _fake, app) = with_stripe().await;
    let (client, _) = app.signed_in_client().await;
    let session = start_checkout(&stripe, &client).await;
    stripe.hold_webhooks(true);
    stripe.complete_checkout(&session).await.unwrap();
    let held = stripe.held_events();
    let completed = held.iter().find(|event| event.event_type == "checkout.session.completed").unwrap();

    assert_eq!(stripe.deliver(completed).await, 200);
    wait_for_subscription(&app, |(_, status)| status == "active").await;
    let fetches = || {
        stripe
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/v1/subscriptions/"))
            .count()
    };
    let fetched = fetches();
    assert_eq!(stripe.deliver(completed).await, 200, "a duplicate is acknowledged");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fetches(), fetched, "a duplicate is not applied again");
    assert_eq!(
        count(&app, &format!("SELECT count(*) FROM stripe_events WHERE id = '{}'", completed.id)).await,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn events_out_of_order_converge_on_the_subscription_as_stripe_has_it() {
    let (stripe, _fake, app) = with_stripe().await;
    let (client, _) = app.signed_in_client().await;
    let session = start_checkout(&stripe, &client).await;
    stripe.hold_webhooks(true);
    let subscription = stripe.complete_checkout(&session).await.unwrap();
    stripe.fail_payment(&subscription).await.unwrap();
    stripe.set_subscription_status(&subscription, "canceled").await.unwrap();
    let mut held = stripe.held_events();

    // Newest first: the deletion arrives before the update (past due), the creation and the
    // checkout, each of whose copies says the subscription is live.
    held.reverse();
    let types: Vec<&str> = held.iter().map(|event| event.event_type.as_str()).collect();
    let position =
        |kind: &str| types.iter().position(|t| *t == kind).unwrap_or_else(|| panic!("{kind} in {types:?}"));
    assert!(position("customer.subscription.deleted") < position("customer.subscription.updated"));
    assert!(position("customer.subscription.updated") < position("customer.subscription.created"));
    for event in &held {
        assert_eq!(stripe.deliver(event).await, 200, "{}", event.event_type);
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while count(&app, "SELECT count(*) FROM stripe_events WHERE processed_at IS NULL").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "every event is applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (plan, status) = wait_for_subscription(&app, |_| true).await;
    assert_eq!((plan.as_deref(), status.as_str()), (Some("pro"), "canceled"));

    // The creation and the checkout, whose copies say active, came last and changed nothing:
    // the user is back on Free.
    let mut socket = open(app.port, &client).await;
    assert_eq!(say(&mut socket, "one").await, Ok(RunStatus::Completed));
    assert!(matches!(say(&mut socket, "two").await, Err(ServerMessage::LimitReached { .. })), "back on Free");
    // The paid session is no longer open: upgrading again starts a new one.
    assert_ne!(start_checkout(&stripe, &client).await, session);
    app.stop().await;
}

#[tokio::test]
async fn a_failed_payment_warns_and_an_unpaid_subscription_drops_to_free_at_once() {
    let (stripe, _fake, app) = with_stripe().await;
    let (client, email) = app.signed_in_client().await;
    let session = start_checkout(&stripe, &client).await;
    let subscription = stripe.complete_checkout(&session).await.unwrap();
    assert_eq!(stripe.subscription_for_email(&email), Some(subscription.clone()));
    wait_for_subscription(&app, |(_, status)| status == "active").await;

    stripe.fail_payment(&subscription).await.unwrap();
    wait_for_subscription(&app, |(_, status)| status == "past_due").await;
    let page = client.get("/billing").await.text().await.unwrap();
    assert!(page.contains("past-due"), "the billing page warns about the failed payment");
    let mut socket = open(app.port, &client).await;
    assert_eq!(say(&mut socket, "still Pro while Stripe retries").await, Ok(RunStatus::Completed));
    assert_eq!(say(&mut socket, "and again").await, Ok(RunStatus::Completed));

    stripe.set_subscription_status(&subscription, "unpaid").await.unwrap();
    wait_for_subscription(&app, |(_, status)| status == "unpaid").await;
    assert!(
        matches!(
            say(&mut socket, "now?").await,
            Err(ServerMessage::LimitReached { limit: Limit::MessagesPerDay, .. })
        ),
        "unpaid means Free, whose one message a day is used"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_webhook_refuses_bad_signatures_and_stores_nothing() {
    let (stripe, _fake, app) = with_stripe().await;
    let (client, _) = app.signed_in_client().await;
    let session = start_checkout(&stripe, &client).await;
    stripe.hold_webhooks(true);
    stripe.complete_checkout(&session).await.unwrap();
    let event = stripe.held_events().remove(0);
    let http = reqwest::Client::new();
    let url = format!("{}/webhooks/stripe", app.address);
    let post = |body: String, signature: Option<String>| {
        let mut request = http.post(&url).header("content-type", "application/json").body(body);
        if let Some(signature) = signature {
            request = request.header("stripe-signature", signature);
        }
        request.send()
    };
    let now = chrono_now();
    let secrets = vec![WEBHOOK_SECRET.to_owned()];

    // An attacker turning a cancellation into an active subscription, or the reverse.
    let tampered = event.payload.replacen("\"status\": \"active\"", "\"status\": \"canceled\"", 1);
    assert_ne!(tampered, event.payload);
    let signed = fake_stripe::signature_header(&event.payload, &secrets, now);
    assert_eq!(post(tampered, Some(signed.clone())).await.unwrap().status(), 400);
    assert_eq!(post(event.payload.clone(), None).await.unwrap().status(), 400);
    let stale = fake_stripe::signature_header(&event.payload, &secrets, now - 301);
    assert_eq!(post(event.payload.clone(), Some(stale)).await.unwrap().status(), 400);
    let wrong = fake_stripe::signature_header(&event.payload, &["whsec_other".to_owned()], now);
    assert_eq!(post(event.payload.clone(), Some(wrong)).await.unwrap().status(), 400);
    assert_eq!(count(&app, "SELECT count(*) FROM stripe_events").await, 0, "nothing refused is stored");

    // During a secret rotation Stripe signs with both; ours may be either of several v1 values.
    let rotating = fake_stripe::signature_header(
        &event.payload,
        &["whsec_new".to_owned(), WEBHOOK_SECRET.to_owned()],
        now,
    );
    assert_eq!(rotating.matches("v1=").count(), 2);
    assert_eq!(post(event.payload.clone(), Some(rotating)).await.unwrap().status(), 200);
    assert_eq!(count(&app, "SELECT count(*) FROM stripe_events").await, 1);
    app.stop().await;
}

#[tokio::test]
async fn with_billing_off_the_webhook_is_absent_and_checkout_says_so() {
    let app = spawn_app_with(&[]).await;
    let (client, _) = app.signed_in_client().await;
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/stripe", app.address))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = client.post_form("/billing/checkout", &[("plan", "pro")]).await;
    assert_eq!(location(&response), "/pricing?error=billing_off");
    let pricing = client.get("/pricing").await.text().await.unwrap();
    assert!(pricing.contains("Billing is off on this server"), "the pricing page says so");
    app.stop().await;
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}
