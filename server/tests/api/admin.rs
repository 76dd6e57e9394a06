//! The admin console end to end: `/admin` and its server functions exist only for admins (anyone
//! else, signed in or not, gets the ordinary 404), the role granted from the command line (the
//! real binary, and the function it runs); disabling a user ends their session and open socket
//! and refuses their log-in with a sentence; a Stripe event set aside is replayed through the
//! webhook's handler; every action is audited with the admin's id.

use std::time::Duration;

use futures::StreamExt;
use jarvis_server::cli::admin::{AdminCommand, execute};
use jarvis_testkit::fake_stripe::{FAKE_SECRET_KEY, FakeStripe};
use jarvis_types::protocol::CLOSE_SESSION_ENDED;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::chat::open;
use crate::helpers::{
    Client, PASSWORD, TestApp, app_database_url, location, owner_database_url, spawn_app, spawn_app_with,
    test_config, with_database,
};

/// Grants the admin role to `email` through the function `jarvis-server admin grant` runs.
async fn grant(app: &TestApp, email: &str) {
    let (config, _) = test_config(&app.database_name, &[]);
    let said = execute(&config.database, &AdminCommand::Grant { email: email.to_owned() }).await.unwrap();
    assert_eq!(said, format!("{email} is now an admin."));
}

/// A signed-in admin (granted through the command line's function) and their address.
async fn signed_in_admin(app: &TestApp) -> (Client, String) {
    let (client, email) = app.signed_in_client().await;
    grant(app, &email).await;
    (client, email)
}

/// The admin's page, which must answer 200.
async fn console(client: &Client, path: &str) -> String {
    let response = client.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_admin_page_is_the_ordinary_404_for_visitors_and_non_admins_and_the_console_for_an_admin() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;
    let (_other, other_email) = app.signed_in_client().await;
    let unknown_page = app.get("/no/such/page").await.text().await.unwrap();
    assert!(unknown_page.contains("Page not found"));

    for (who, response) in
        [("a visitor", app.get("/admin").await), ("a non-admin", client.get("/admin").await)]
    {
        assert_eq!(response.status(), 404, "{who}");
        let html = response.text().await.unwrap();
        assert!(
            html.contains("Page not found") && html.contains("There is nothing at this address."),
            "{who}: {html}"
        );
        for revealing in ["Admin", "admin-users", "Stripe events", other_email.as_str()] {
            assert!(!html.contains(revealing), "{who} sees {revealing:?}: {html}");
        }
    }

    grant(&app, &email).await;
    let instance = Uuid::new_v4();
    sqlx::query("INSERT INTO instances (id, lease_until) VALUES ($1, now() + interval '1 hour')")
        .bind(instance)
        .execute(&app.owner_pool)
        .await
        .unwrap();
    let html = console(&client, "/admin").await;
    assert!(html.contains(r#"<h1 class="text-2xl font-semibold">Admin</h1>"#), "{html}");
    assert!(html.contains(&format!("Admin: {email}")), "{html}");
    for section in
        ["Users", "Stripe events set aside", "Failed runs, last 7 days", "Instances", "Admin actions"]
    {
        assert!(html.contains(section), "{section}: {html}");
    }
    assert!(html.contains(&other_email) && html.contains(r#"aria-label="Disable "#), "{html}");
    assert!(html.contains(r#"<label for="admin-search""#) && html.contains(r#"<th scope="col""#));
    assert_eq!(html.matches(r#"data-testid="admin-user""#).count(), 2, "{html}");
    assert!(html.contains("/pkg/jarvis.js"), "the console hydrates");
    // The grant from the command line is the first audited action.
    assert!(html.contains("command line") && html.contains("admin.grant"), "{html}");
    // An instance of the run engine, with its live lease.
    assert!(html.contains(&instance.to_string()) && html.contains(">Live<"), "{html}");

    let prefix = &other_email[..12];
    let html = console(&client, &format!("/admin?q={}", prefix.to_uppercase())).await;
    assert_eq!(html.matches(r#"data-testid="admin-user""#).count(), 1, "{html}");
    assert!(html.contains(&other_email));
    app.stop().await;
}

#[tokio::test]
async fn the_admin_server_functions_refuse_visitors_and_non_admins() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let (_, admin_email) = signed_in_admin(&app).await;
    let admin_id = app.user_id(&admin_email).await;
    sqlx::query(
        "INSERT INTO stripe_events (id, event_type, payload, attempts, next_attempt_at, last_error)
         VALUES ('evt_aside', 'invoice.paid', '{}', 40, 'infinity', 'given up: x')",
    )
    .execute(&app.owner_pool)
    .await
    .unwrap();

    let admin_id = admin_id.to_string();
    let calls: [(&str, Vec<(&str, &str)>); 3] = [
        ("admin_overview", vec![("search", "")]),
        ("admin_set_disabled", vec![("user_id", admin_id.as_str()), ("disabled", "true")]),
        ("admin_replay_event", vec![("event_id", "evt_aside")]),
    ];
    for (who, caller) in [("a non-admin", &client), ("a visitor", &app.client())] {
        for (name, args) in &calls {
            let (status, body) = caller.server_fn(name, args).await;
            assert_eq!(status, 404, "{who} calling {name}: {body}");
            assert!(!body.to_string().contains(&admin_email), "{who} calling {name}: {body}");
        }
    }
    let disabled: bool = sqlx::query_scalar("SELECT disabled_at IS NOT NULL FROM users WHERE email = $1")
        .bind(&admin_email)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(!disabled, "the admin was not disabled");
    let aside: bool = sqlx::query_scalar("SELECT next_attempt_at = 'infinity' FROM stripe_events")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert!(aside, "the event was not replayed");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM admin_audit WHERE actor_id IS NOT NULL")
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(audited, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_disabled_user_loses_their_session_and_socket_at_once_and_is_told_why_at_log_in() {
    let app = spawn_app().await;
    let (admin, admin_email) = signed_in_admin(&app).await;
    let (bob, bob_email) = app.signed_in_client().await;
    let bob_id = app.user_id(&bob_email).await.to_string();
    let mut socket = open(app.port, &bob).await;
    assert_eq!(bob.get("/settings").await.status(), 200);

    let (status, said) =
        admin.server_fn("admin_set_disabled", &[("user_id", &bob_id), ("disabled", "true")]).await;
    assert_eq!(status, 200, "{said}");
    assert_eq!(said, format!("{bob_email} is disabled: their sessions ended and they cannot log in."));

    // The open socket closes, saying the session ended.
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(Some(close)))) => return u16::from(close.code),
                Some(Ok(_)) => {}
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    })
    .await
    .expect("the socket is closed at once");
    assert_eq!(closed, CLOSE_SESSION_ENDED);
    // The session (access and refresh cookies both) no longer works.
    let response = bob.get("/settings").await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/login"), "{}", location(&response));
    // Logging in again, with the right password, is refused with a sentence.
    let response = bob.post_form("/login", &[("email", &bob_email), ("password", PASSWORD)]).await;
    let refused = location(&response);
    assert!(refused.starts_with("/login?error=account_disabled"), "{refused}");
    let page = bob.get(&refused).await.text().await.unwrap();
    assert!(page.contains("This account has been disabled."), "{page}");
    assert!(bob.cookie("jarvis_access").is_none(), "no new session");
    // A wrong password still says only that the credentials are wrong.
    let response = bob.post_form("/login", &[("email", &bob_email), ("password", "not the password")]).await;
    assert!(location(&response).starts_with("/login?error=invalid_credentials"), "{}", location(&response));

    let page = console(&admin, "/admin").await;
    assert!(page.contains("Disabled since") && page.contains(&format!(r#"aria-label="Enable {bob_email}""#)));

    let (status, said) =
        admin.server_fn("admin_set_disabled", &[("user_id", &bob_id), ("disabled", "false")]).await;
    assert_eq!(status, 200, "{said}");
    app.log_in(&bob, &bob_email, PASSWORD).await;

    let admin_id = app.user_id(&admin_email).await;
    let audit: Vec<(Option<Uuid>, String, String)> =
        sqlx::query_as("SELECT actor_id, action, target FROM admin_audit ORDER BY id")
            .fetch_all(&app.owner_pool)
            .await
            .unwrap();
    assert_eq!(
        audit,
        [
            (None, "admin.grant".to_owned(), admin_email.clone()),
            (Some(admin_id), "user.disable".to_owned(), bob_email.clone()),
            (Some(admin_id), "user.enable".to_owned(), bob_email.clone()),
        ]
    );
    // An admin cannot lock themselves out.
    let (status, said) = admin
        .server_fn("admin_set_disabled", &[("user_id", &admin_id.to_string()), ("disabled", "true")])
        .await;
    assert_eq!(status, 400, "{said}");
    app.stop().await;
}

#[tokio::test]
async fn a_stripe_event_set_aside_is_replayed_through_the_webhook_handler() {
    const WEBHOOK_SECRET: &str = "whsec_jarvis_test";
    const PRO_PRICE: &str = "price_pro_monthly";
    let stripe = FakeStripe::start().await.unwrap();
    stripe.add_price(PRO_PRICE, "Jarvis Pro", 2000);
    let app = spawn_app_with(&[
        ("STRIPE_SECRET_KEY", FAKE_SECRET_KEY),
        ("STRIPE_API_BASE", &stripe.base_url()),
        ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ("STRIPE_PRICE_PRO", PRO_PRICE),
    ])
    .await;
    stripe.set_webhook(&format!("{}/webhooks/stripe", app.address), vec![WEBHOOK_SECRET.to_owned()]);
    let (admin, admin_email) = signed_in_admin(&app).await;
    let (customer, _) = app.signed_in_client().await;

    // A checkout completes, but its event was set aside (as after 40 failed tries).
    let response = customer.post_form("/billing/checkout", &[("plan", "pro")]).await;
    assert_eq!(response.status(), 303);
    let session = location(&response).rsplit('/').next().unwrap().to_owned();
    stripe.hold_webhooks(true);
    stripe.complete_checkout(&session).await.unwrap();
    let held = stripe.held_events();
    let completed = held.iter().find(|event| event.event_type == "checkout.session.completed").unwrap();
    sqlx::query(
        "INSERT INTO stripe_events (id, event_type, payload, attempts, next_attempt_at, last_error)
         VALUES ($1, $2, $3::jsonb, 40, 'infinity', 'given up: Stripe was away')",
    )
    .bind(&completed.id)
    .bind(&completed.event_type)
    .bind(&completed.payload)
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let subscriptions = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM subscriptions WHERE status = 'active'")
            .fetch_one(&app.owner_pool)
            .await
            .unwrap()
    };
    assert_eq!(subscriptions().await, 0);

    let page = console(&admin, "/admin").await;
    assert!(page.contains(&completed.id) && page.contains("given up: Stripe was away"), "{page}");
    assert!(page.contains(&format!(r#"aria-label="Replay {}""#, completed.id)), "{page}");

    let (status, said) = admin.server_fn("admin_replay_event", &[("event_id", &completed.id)]).await;
    assert_eq!(status, 200, "{said}");
    assert_eq!(said, format!("Event {} was applied.", completed.id));
    assert_eq!(subscriptions().await, 1, "the handler synced the subscription from Stripe");
    let page = console(&admin, "/admin").await;
    assert!(!page.contains(&format!(r#"aria-label="Replay {}""#, completed.id)), "no longer set aside");

    // Replaying it again finds nothing set aside.
    let (status, _) = admin.server_fn("admin_replay_event", &[("event_id", &completed.id)]).await;
    assert_eq!(status, 404);
    let audit: Vec<(Option<Uuid>, String, String)> = sqlx::query_as(
        "SELECT actor_id, action, target FROM admin_audit WHERE action = 'stripe_event.replay'",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(
        audit,
        [(Some(app.user_id(&admin_email).await), "stripe_event.replay".to_owned(), completed.id.clone())]
    );
    app.stop().await;
}

#[tokio::test]
async fn the_command_line_grants_and_revokes_and_refuses_an_unknown_address() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;
    let binary = env!("CARGO_BIN_EXE_jarvis-server");
    let folder = std::env::temp_dir().join(format!("jarvis-admin-cli-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&folder).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(binary)
            .args(args)
            .current_dir(&folder)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", with_database(&owner_database_url(), &app.database_name))
            .env("DATABASE_APP_URL", with_database(&app_database_url(), &app.database_name))
            .output()
            .expect("the binary runs")
    };

    let granted = run(&["admin", "grant", &email]);
    assert!(granted.status.success(), "{granted:?}");
    assert_eq!(String::from_utf8_lossy(&granted.stdout).trim(), format!("{email} is now an admin."));
    assert_eq!(client.get("/admin").await.status(), 200);

    let unknown = run(&["admin", "grant", "nobody@example.com"]);
    assert!(!unknown.status.success(), "{unknown:?}");
    let said = String::from_utf8_lossy(&unknown.stderr);
    assert!(said.contains("No account uses the address nobody@example.com."), "{said}");

    let revoked = run(&["admin", "revoke", &email]);
    assert!(revoked.status.success(), "{revoked:?}");
    assert_eq!(String::from_utf8_lossy(&revoked.stdout).trim(), format!("{email} is no longer an admin."));
    assert_eq!(client.get("/admin").await.status(), 404);
    std::fs::remove_dir_all(&folder).unwrap();
    app.stop().await;
}
