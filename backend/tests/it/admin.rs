//! The admin functions against Postgres as the application role: a non-admin (or nobody) gets an
//! error and no row from every one of them; an admin sees across users, and each action is
//! audited with the admin's id; disabling ends sessions at once and refuses new ones; the role is
//! granted and revoked only as the schema owner.

use jarvis_backend::admin::roles::{self, RoleChange};
use jarvis_backend::admin::{self, AdminError, Replayed, store};
use jarvis_backend::billing::plans::Catalog;
use jarvis_backend::billing::{Billing, BillingSettings};
use uuid::Uuid;

use crate::support::{TestDb, test_db};

/// A user (with an address of their own) and one live session of theirs.
async fn user_with_session(db: &TestDb, name: &str) -> (Uuid, String) {
    let user_id = Uuid::new_v4();
    let email = format!("{name}-{}@example.com", user_id.simple());
    sqlx::query("INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', $3)")
        .bind(user_id)
        .bind(&email)
        .bind(name)
        .execute(&db.owner)
        .await
        .unwrap();
    sqlx::query("INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')")
        .bind(Uuid::new_v4())
        .bind(user_id)
        .execute(&db.owner)
        .await
        .unwrap();
    (user_id, email)
}

/// A conversation with a failed run of `code`, and the run's usage record.
async fn failed_run(db: &TestDb, user_id: Uuid, code: &str) {
    let conversation = Uuid::new_v4();
    let run = Uuid::new_v4();
    sqlx::query("INSERT INTO conversations (id, user_id, title) VALUES ($1, $2, 't')")
        .bind(conversation)
        .bind(user_id)
        .execute(&db.owner)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO runs (id, user_id, conversation_id, status, model, error_code, finished_at)
         VALUES ($1, $2, $3, 'failed', 'm', $4, now())",
    )
    .bind(run)
    .bind(user_id)
    .bind(conversation)
    .bind(code)
    .execute(&db.owner)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO usage_records (run_id, user_id, model, input_tokens, output_tokens, cost_micros)
         VALUES ($1, $2, 'm', 100, 20, 1500)",
    )
    .bind(run)
    .bind(user_id)
    .execute(&db.owner)
    .await
    .unwrap();
}

async fn set_aside_event(db: &TestDb, id: &str, payload: &str) {
    sqlx::query(
        "INSERT INTO stripe_events (id, event_type, payload, attempts, next_attempt_at, last_error)
         VALUES ($1, 'invoice.paid', $2::jsonb, 40, 'infinity', 'given up: Stripe was away')",
    )
    .bind(id)
    .bind(payload)
    .execute(&db.owner)
    .await
    .unwrap();
}

fn billing_off(db: &TestDb) -> Billing {
    Billing::new(
        db.app.clone(),
        BillingSettings {
            catalog: Catalog::builtin(None),
            stripe: None,
            public_url: "http://localhost:3000/".parse().unwrap(),
        },
    )
    .unwrap()
}

async fn live_sessions(db: &TestDb, user_id: Uuid) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM sessions WHERE user_id = $1 AND revoked_at IS NULL")
        .bind(user_id)
        .fetch_one(&db.owner)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_admin_function_refuses_a_non_admin_and_nobody() {
    let db = test_db().await;
    let (alice, _) = user_with_session(&db, "alice").await;
    let (bob, _) = user_with_session(&db, "bob").await;
    failed_run(&db, bob, "overloaded").await;
    set_aside_event(&db, "evt_refused", "{}").await;
    let billing = billing_off(&db);

    assert!(!admin::is_admin(&db.app, alice).await.unwrap());
    let refused = |result: Result<(), AdminError>, what: &str| {
        assert!(matches!(result, Err(AdminError::NotAdmin)), "{what}: {result:?}");
    };
    refused(admin::overview(&db.app, &billing, alice, "").await.map(drop), "overview");
    refused(store::users(&db.app, alice, "").await.map(drop), "users");
    refused(store::set_aside_events(&db.app, alice).await.map(drop), "events");
    refused(store::failed_runs(&db.app, alice, 7).await.map(drop), "failed runs");
    refused(store::instances(&db.app, alice).await.map(drop), "instances");
    refused(store::audit_log(&db.app, alice).await.map(drop), "audit");
    refused(store::event_state(&db.app, alice, "evt_refused").await.map(drop), "event state");
    refused(admin::set_disabled(&db.app, alice, bob, true).await.map(drop), "disable");
    refused(admin::replay_event(&db.app, &billing, alice, "evt_refused").await.map(drop), "replay");
    assert_eq!(live_sessions(&db, bob).await, 1, "nothing was disabled");
    let state: (bool, i32) = sqlx::query_as(
        "SELECT next_attempt_at = 'infinity', attempts FROM stripe_events WHERE id = 'evt_refused'",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    assert_eq!(state, (true, 40), "nothing was replayed");

    // With no user at all (no `app.user_id`), and straight at the tables: nothing either.
    let anonymous = sqlx::query("SELECT * FROM admin_users('', 10)").fetch_all(&db.app).await;
    assert_eq!(AdminError::from(anonymous.unwrap_err()).to_string(), "Not found.");
    for table in ["admins", "admin_audit"] {
        let direct = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(&db.app).await;
        assert!(direct.unwrap_err().to_string().contains("permission denied"), "{table}");
    }
    let helper = sqlx::query("SELECT admin_record('x', 'y', '{}')").fetch_all(&db.app).await;
    assert!(helper.unwrap_err().to_string().contains("permission denied"));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM admin_audit").fetch_one(&db.owner).await.unwrap(),
        0
    );
    db.drop().await;
}

#[tokio::test]
async fn the_role_is_granted_and_revoked_by_address_as_the_owner_and_audited() {
    let db = test_db().await;
    let (alice, alice_email) = user_with_session(&db, "alice").await;

    assert_eq!(
        roles::grant(&db.owner, &alice_email.to_uppercase()).await.unwrap(),
        RoleChange::Changed { user_id: alice },
        "addresses match without regard to case"
    );
    assert_eq!(
        roles::grant(&db.owner, &alice_email).await.unwrap(),
        RoleChange::Unchanged { user_id: alice }
    );
    assert!(admin::is_admin(&db.app, alice).await.unwrap());
    let unknown = roles::grant(&db.owner, "nobody@example.com").await.unwrap_err();
    assert_eq!(unknown.to_string(), "No account uses the address nobody@example.com.");
    // The application role cannot make anyone an admin.
    assert!(roles::grant(&db.app, &alice_email).await.is_err());

    let audit = store::audit_log(&db.app, alice).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!((audit[0].actor_id, audit[0].actor.as_str()), (None, roles::COMMAND_LINE));
    assert_eq!((audit[0].action.as_str(), audit[0].target.as_str()), ("admin.grant", alice_email.as_str()));

    assert_eq!(roles::revoke(&db.owner, &alice_email).await.unwrap(), RoleChange::Changed { user_id: alice });
    assert!(!admin::is_admin(&db.app, alice).await.unwrap());
    assert!(matches!(store::users(&db.app, alice, "").await, Err(AdminError::NotAdmin)));
    assert_eq!(
        roles::revoke(&db.owner, &alice_email).await.unwrap(),
        RoleChange::Unchanged { user_id: alice }
    );
    db.drop().await;
}

#[tokio::test]
async fn an_admin_sees_users_with_usage_failures_by_code_events_and_instances() {
    let db = test_db().await;
    let (admin_id, admin_email) = user_with_session(&db, "admin").await;
    let (bob, bob_email) = user_with_session(&db, "bob").await;
    let (carol, _) = user_with_session(&db, "carol").await;
    roles::grant(&db.owner, &admin_email).await.unwrap();
    failed_run(&db, bob, "overloaded").await;
    failed_run(&db, bob, "overloaded").await;
    failed_run(&db, carol, "overloaded").await;
    failed_run(&db, carol, "stream_stalled").await;
    set_aside_event(&db, "evt_aside", "{}").await;
    sqlx::query(
        "INSERT INTO stripe_events (id, event_type, payload) VALUES ('evt_pending', 'invoice.paid', '{}')",
    )
    .execute(&db.owner)
    .await
    .unwrap();
    let (live, expired) = (Uuid::new_v4(), Uuid::new_v4());
    sqlx::query(
        "INSERT INTO instances (id, lease_until) VALUES ($1, now() + interval '30 s'), ($2, now() - interval '5 min')",
    )
    .bind(live)
    .bind(expired)
    .execute(&db.owner)
    .await
    .unwrap();

    let overview = admin::overview(&db.app, &billing_off(&db), admin_id, "").await.unwrap();
    assert_eq!(overview.users.len(), 3);
    let bob_row = overview.users.iter().find(|user| user.row.user_id == bob).unwrap();
    assert_eq!(bob_row.row.email, bob_email);
    assert_eq!((bob_row.row.messages_this_month, bob_row.row.tokens_this_month), (2, 240));
    assert_eq!(bob_row.row.cost_micros_this_month, 3000);
    assert!(!bob_row.row.is_admin && bob_row.row.disabled_at.is_none());
    assert_eq!(bob_row.plan, "Pro", "with billing off everyone has the billing-off plan");
    assert!(overview.users.iter().any(|user| user.row.user_id == admin_id && user.row.is_admin));

    let codes: Vec<(&str, i64, i64)> = overview
        .failed_runs
        .iter()
        .map(|group| (group.error_code.as_str(), group.runs, group.users))
        .collect();
    assert_eq!(codes, [("overloaded", 3, 2), ("stream_stalled", 1, 1)]);

    let events: Vec<&str> = overview.set_aside_events.iter().map(|event| event.id.as_str()).collect();
    assert_eq!(events, ["evt_aside"], "an event still being retried is not set aside");
    assert_eq!(overview.set_aside_events[0].attempts, 40);

    let leases: Vec<(Uuid, bool)> = overview.instances.iter().map(|row| (row.id, row.live)).collect();
    assert_eq!(leases, [(live, true), (expired, false)]);

    // The search matches part of an address, any case; `%` and `_` are plain characters.
    let found = store::users(&db.app, admin_id, &bob_email[..8].to_uppercase()).await.unwrap();
    assert_eq!(found.iter().map(|user| user.user_id).collect::<Vec<_>>(), [bob]);
    assert!(store::users(&db.app, admin_id, "%").await.unwrap().is_empty());
    db.drop().await;
}

#[tokio::test]
async fn disabling_ends_sessions_refuses_new_ones_and_is_audited_with_the_admin() {
    let db = test_db().await;
    let (admin_id, admin_email) = user_with_session(&db, "admin").await;
    let (bob, bob_email) = user_with_session(&db, "bob").await;
    roles::grant(&db.owner, &admin_email).await.unwrap();

    assert_eq!(admin::set_disabled(&db.app, admin_id, bob, true).await.unwrap(), bob_email);
    assert_eq!(live_sessions(&db, bob).await, 0, "the session ended with the disabling");
    let new_session = jarvis_backend::db::for_user(&db.app, bob, async |conn| {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, expires_at) VALUES ($1, $2, now() + interval '1 day')",
        )
        .bind(Uuid::new_v4())
        .bind(bob)
        .execute(&mut *conn)
        .await
    })
    .await;
    assert!(
        new_session.unwrap_err().to_string().contains("disabled"),
        "no session starts for a disabled account"
    );

    assert!(matches!(
        admin::set_disabled(&db.app, admin_id, admin_id, true).await,
        Err(AdminError::CannotDisableSelf)
    ));
    assert!(matches!(
        admin::set_disabled(&db.app, admin_id, Uuid::new_v4(), true).await,
        Err(AdminError::UnknownUser)
    ));
    assert_eq!(admin::set_disabled(&db.app, admin_id, bob, false).await.unwrap(), bob_email);

    let audit = store::audit_log(&db.app, admin_id).await.unwrap();
    let actions: Vec<(Option<Uuid>, &str, &str)> =
        audit.iter().map(|row| (row.actor_id, row.action.as_str(), row.target.as_str())).collect();
    assert_eq!(
        actions,
        [
            (Some(admin_id), "user.enable", bob_email.as_str()),
            (Some(admin_id), "user.disable", bob_email.as_str()),
            (None, "admin.grant", admin_email.as_str()),
        ]
    );
    assert_eq!(audit[1].actor, admin_email);
    assert_eq!(audit[1].details["sessions_ended"], 1);

    // A disabled admin is no admin.
    let (other_admin, other_email) = user_with_session(&db, "other").await;
    roles::grant(&db.owner, &other_email).await.unwrap();
    admin::set_disabled(&db.app, admin_id, other_admin, true).await.unwrap();
    assert!(!admin::is_admin(&db.app, other_admin).await.unwrap());
    assert!(matches!(store::users(&db.app, other_admin, "").await, Err(AdminError::NotAdmin)));
    db.drop().await;
}

#[tokio::test]
async fn a_replayed_event_goes_through_the_billing_handler_once_more_and_is_audited() {
    let db = test_db().await;
    let (admin_id, admin_email) = user_with_session(&db, "admin").await;
    roles::grant(&db.owner, &admin_email).await.unwrap();
    // A payload the handler cannot read: applying it fails again, whatever Stripe says.
    set_aside_event(&db, "evt_broken", r#"{"id": "evt_broken"}"#).await;
    let billing = billing_off(&db);

    let replayed = admin::replay_event(&db.app, &billing, admin_id, "evt_broken").await.unwrap();
    let error = match replayed {
        Replayed::SetAsideAgain { error: Some(error) } => error,
        other => panic!("{other:?}"),
    };
    assert!(error.starts_with("given up:") && !error.contains("Stripe was away"), "a new error: {error}");
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM stripe_events WHERE id = 'evt_broken'")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    assert_eq!(attempts, 41, "the handler tried it once more");
    assert_eq!(store::set_aside_events(&db.app, admin_id).await.unwrap().len(), 1, "set aside again");

    let unknown = admin::replay_event(&db.app, &billing, admin_id, "evt_unknown").await.unwrap_err();
    assert_eq!(unknown.to_string(), "No Stripe event evt_unknown is set aside.");

    let audit = store::audit_log(&db.app, admin_id).await.unwrap();
    assert_eq!(
        (audit[0].actor_id, audit[0].action.as_str(), audit[0].target.as_str()),
        (Some(admin_id), "stripe_event.replay", "evt_broken")
    );
    db.drop().await;
}
