//! A session that ends takes its open sockets with it: however it ends (log-out, log out
//! everywhere, a device revoked from another, a password reset, the account deleted), on this
//! instance or another, and even when the notice was lost or the session merely expired.

use std::time::Duration;

use futures::StreamExt;
use jarvis_server::startup::Application;
use jarvis_testkit::fake_anthropic::{FakeAnthropic, Reply};
use jarvis_types::protocol::{CLOSE_SESSION_ENDED, ClientMessage, RunEvent, ServerMessage};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::chat::{Socket, ask, next, open, send};
use crate::helpers::{Client, PASSWORD, TestApp, link_in, location, spawn_app, spawn_app_with, test_config};

/// How long a socket may take to be closed once its session ended (notices arrive in
/// milliseconds; the margin is for a loaded test machine).
const CLOSED_WITHIN: Duration = Duration::from_secs(5);

/// Reads until the server closes the socket; asserts it said the session ended.
async fn assert_closed_for_ended_session(socket: &mut Socket, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("the socket was not closed within {within:?}"));
        match frame {
            Some(Ok(Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), CLOSE_SESSION_ENDED, "{close:?}");
                assert_eq!(close.reason.as_str(), "session ended");
                return;
            }
            Some(Ok(Message::Close(None))) => panic!("closed without saying why"),
            Some(Ok(_)) => {}
            Some(Err(error)) => panic!("the socket broke instead of being closed: {error}"),
            None => panic!("the socket ended without a close frame"),
        }
    }
}

/// The socket still answers: a ping gets its pong.
async fn assert_still_open(socket: &mut Socket) {
    let nonce = fresh_nonce();
    send(socket, &ClientMessage::Ping { nonce }).await;
    loop {
        match next(socket).await {
            ServerMessage::Pong { nonce: answered } if answered == nonce => return,
            _ => {}
        }
    }
}

fn fresh_nonce() -> u64 {
    u64::from(Uuid::new_v4().as_fields().1)
}

/// The session id in a signed-in client's access token.
fn session_of(app: &TestApp, client: &Client) -> Uuid {
    app.access_tokens()
        .verify(&client.cookie("jarvis_access").expect("signed in"))
        .expect("a valid token")
        .sid
}

/// Opens a socket with an access token, returning the refusal if the upgrade is refused.
async fn try_open(port: u16, access_token: &str) -> Result<Socket, tungstenite::Error> {
    let mut request = format!("ws://localhost:{port}/ws").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", HeaderValue::from_str(&format!("jarvis_access={access_token}")).unwrap());
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

/// Ends a session in the database directly, with its notice suppressed: what an instance sees
/// when the notification was lost (its listening connection was down at the time).
async fn revoke_without_notice(app: &TestApp, session_id: Uuid) {
    let mut tx = app.owner_pool.begin().await.unwrap();
    sqlx::query("ALTER TABLE sessions DISABLE TRIGGER sessions_announce_end")
        .execute(&mut *tx)
        .await
        .unwrap();
    let revoked = sqlx::query("UPDATE sessions SET revoked_at = now() WHERE id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(revoked.rows_affected(), 1);
    sqlx::query("ALTER TABLE sessions ENABLE TRIGGER sessions_announce_end").execute(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn log_out_everywhere_closes_the_open_socket_and_it_cannot_be_reopened() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let access = client.cookie("jarvis_access").unwrap();
    let mut socket = open(app.port, &client).await;
    assert_still_open(&mut socket).await;

    let response = client.post_form("/logout-everywhere", &[]).await;
    assert_eq!(location(&response), "/login?notice=logged_out_everywhere");

    assert_closed_for_ended_session(&mut socket, CLOSED_WITHIN).await;
    match try_open(app.port, &access).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        Err(other) => panic!("expected an HTTP 401, got {other}"),
        Ok(_) => panic!("a socket opened for an ended session"),
    }
    app.stop().await;
}

#[tokio::test]
async fn logging_out_closes_that_devices_socket_and_no_other() {
    let app = spawn_app().await;
    let (laptop, phone, _) = app.signed_in_on_two_devices().await;
    let mut laptop_socket = open(app.port, &laptop).await;
    let mut phone_socket = open(app.port, &phone).await;

    let response = laptop.post_form("/logout", &[]).await;
    assert_eq!(location(&response), "/login?notice=logged_out");

    assert_closed_for_ended_session(&mut laptop_socket, CLOSED_WITHIN).await;
    assert_still_open(&mut phone_socket).await;
    app.stop().await;
}

#[tokio::test]
async fn revoking_a_device_from_another_closes_only_the_revoked_devices_sockets() {
    let app = spawn_app().await;
    let (laptop, phone, _) = app.signed_in_on_two_devices().await;
    let phone_session = session_of(&app, &phone);
    // Two tabs on the phone, one on the laptop.
    let mut phone_tab = open(app.port, &phone).await;
    let mut other_phone_tab = open(app.port, &phone).await;
    let mut laptop_socket = open(app.port, &laptop).await;

    let response = laptop.post_form(&format!("/settings/sessions/{phone_session}/revoke"), &[]).await;
    assert_eq!(location(&response), "/settings?notice=session_revoked");

    assert_closed_for_ended_session(&mut phone_tab, CLOSED_WITHIN).await;
    assert_closed_for_ended_session(&mut other_phone_tab, CLOSED_WITHIN).await;
    assert_still_open(&mut laptop_socket).await;
    let refused = try_open(app.port, &phone.cookie("jarvis_access").unwrap()).await;
    assert!(matches!(refused, Err(tungstenite::Error::Http(ref response)) if response.status() == 401));
    app.stop().await;
}

#[tokio::test]
async fn a_password_reset_closes_the_sockets_of_every_device() {
    let app = spawn_app().await;
    let (laptop, phone, email) = app.signed_in_on_two_devices().await;
    let mut laptop_socket = open(app.port, &laptop).await;
    let mut phone_socket = open(app.port, &phone).await;

    let asked = app.client().post_form("/forgot-password", &[("email", &email)]).await;
    assert!(location(&asked).starts_with("/forgot-password?notice=reset_sent"));
    // The verification mail came first; the reset mail is the second.
    let mails = app.mails_to(&email, 2).await;
    let link = link_in(&mails[1], "/reset-password").expect("a reset link");
    let token = url::form_urlencoded::parse(link.split_once('?').unwrap().1.as_bytes())
        .find(|(name, _)| name == "token")
        .expect("a token in the link")
        .1
        .into_owned();
    let reset = app
        .client()
        .post_form("/reset-password", &[("token", &token), ("password", "a brand new passphrase")])
        .await;
    assert_eq!(location(&reset), "/login?notice=password_reset");

    assert_closed_for_ended_session(&mut laptop_socket, CLOSED_WITHIN).await;
    assert_closed_for_ended_session(&mut phone_socket, CLOSED_WITHIN).await;
    app.stop().await;
}

#[tokio::test]
async fn changing_the_password_closes_the_sockets_of_every_other_device() {
    let app = spawn_app().await;
    let (laptop, phone, _) = app.signed_in_on_two_devices().await;
    let mut laptop_socket = open(app.port, &laptop).await;
    let mut phone_socket = open(app.port, &phone).await;

    let changed = laptop
        .post_form(
            "/settings/change-password",
            &[("current_password", PASSWORD), ("new_password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(location(&changed), "/settings?notice=password_changed");

    assert_closed_for_ended_session(&mut phone_socket, CLOSED_WITHIN).await;
    assert_still_open(&mut laptop_socket).await;
    app.stop().await;
}

#[tokio::test]
async fn deleting_the_account_closes_its_sockets() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    let deleted = client.post_form("/settings/delete-account", &[("password", PASSWORD)]).await;
    assert_eq!(location(&deleted), "/login?notice=account_deleted");

    assert_closed_for_ended_session(&mut socket, CLOSED_WITHIN).await;
    app.stop().await;
}

#[tokio::test]
async fn a_socket_streaming_a_run_passes_on_nothing_more_once_its_session_ended() {
    let fake = FakeAnthropic::start().await;
    // About five seconds of reply.
    let words: Vec<String> = (1..=100).map(|n| format!("w{n}")).collect();
    fake.reply(Reply::text(words.join(" ")).slowly(Duration::from_millis(50)));
    let app =
        spawn_app_with(&[("ANTHROPIC_BASE_URL", &fake.base_url()), ("ANTHROPIC_API_KEY", "sk-ant-test")])
            .await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    send(&mut socket, &ask(None, "Count")).await;
    loop {
        if let ServerMessage::Run { event: RunEvent::TextDelta { .. }, .. } = next(&mut socket).await {
            break;
        }
    }

    let response = client.post_form("/logout-everywhere", &[]).await;
    assert_eq!(location(&response), "/login?notice=logged_out_everywhere");

    // Whatever was already on its way may arrive; then the close, long before the reply ends.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("the socket was closed within 3 s")
            .expect("a close frame")
            .expect("a valid frame");
        match frame {
            Message::Close(Some(close)) => {
                assert_eq!(u16::from(close.code), CLOSE_SESSION_ENDED);
                break;
            }
            Message::Text(text) => {
                let message: ServerMessage = serde_json::from_str(text.as_str()).unwrap();
                assert!(
                    !matches!(message, ServerMessage::Run { event: RunEvent::Finished { .. }, .. }),
                    "the run's end was passed on after its session ended"
                );
            }
            _ => {}
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_revocation_on_one_instance_closes_the_sockets_open_on_another() {
    let app = spawn_app().await;
    let (config, _) = test_config(&app.database_name, &[]);
    let sibling = Application::build(config).await.unwrap();
    let sibling_port = sibling.port();
    let stop_sibling = CancellationToken::new();
    let sibling_task = tokio::spawn(sibling.run_until(stop_sibling.clone().cancelled_owned()));
    let (client, _) = app.signed_in_client().await;
    let mut here = open(app.port, &client).await;
    let mut elsewhere = open(sibling_port, &client).await;

    let response = client.post_form("/logout-everywhere", &[]).await;
    assert_eq!(location(&response), "/login?notice=logged_out_everywhere");

    assert_closed_for_ended_session(&mut elsewhere, CLOSED_WITHIN).await;
    assert_closed_for_ended_session(&mut here, CLOSED_WITHIN).await;
    stop_sibling.cancel();
    sibling_task.await.unwrap().unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_session_ended_without_a_notice_is_found_by_the_periodic_check() {
    let app = spawn_app_with(&[("JARVIS_SESSION_CHECK_SECS", "0.5")]).await;
    let (client, _) = app.signed_in_client().await;
    let (other, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;
    let mut others_socket = open(app.port, &other).await;

    revoke_without_notice(&app, session_of(&app, &client)).await;

    assert_closed_for_ended_session(&mut socket, CLOSED_WITHIN).await;
    assert_still_open(&mut others_socket).await;
    app.stop().await;
}

#[tokio::test]
async fn a_session_ended_while_the_listener_was_away_is_found_when_it_listens_again() {
    // No periodic check within the test: only the check on reconnecting can find it.
    let app = spawn_app_with(&[("JARVIS_SESSION_CHECK_SECS", "3600")]).await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = open(app.port, &client).await;

    revoke_without_notice(&app, session_of(&app, &client)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_still_open(&mut socket).await; // nothing told this instance yet

    // The listening connection drops (a network blip, a failover).
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE datname = current_database() AND query = 'LISTEN \"jarvis_session_revoked\"'",
    )
    .fetch_all(&app.app_pool)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true], "one revocation listener per instance");

    assert_closed_for_ended_session(&mut socket, CLOSED_WITHIN).await;
    app.stop().await;
}

#[tokio::test]
async fn when_its_access_token_expires_a_socket_closes_if_its_session_cannot_be_refreshed() {
    // Access tokens of 2 s; no periodic check within the test.
    let app =
        spawn_app_with(&[("JARVIS_ACCESS_TOKEN_TTL_SECS", "2"), ("JARVIS_SESSION_CHECK_SECS", "3600")]).await;
    let (staying, _) = app.signed_in_client().await;
    let mut staying_socket = open(app.port, &staying).await;
    let (expiring, _) = app.signed_in_client().await;
    let expiring_session = session_of(&app, &expiring);
    let mut expiring_socket = open(app.port, &expiring).await;

    // The session reaches its absolute end: no notice is sent, and nothing can refresh it.
    sqlx::query("UPDATE sessions SET expires_at = now() WHERE id = $1")
        .bind(expiring_session)
        .execute(&app.owner_pool)
        .await
        .unwrap();

    assert_closed_for_ended_session(&mut expiring_socket, Duration::from_secs(2) + CLOSED_WITHIN).await;
    // A live session's socket outlives its access token (the browser refreshes it over HTTP).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_still_open(&mut staying_socket).await;
    app.stop().await;
}
