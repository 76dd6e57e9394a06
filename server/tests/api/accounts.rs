//! Accounts end to end through HTTP, against real Postgres and a real mail peer.

use chrono::Utc;
use jarvis_backend::accounts::jwt::{AUDIENCE, Claims};
use uuid::Uuid;

use crate::helpers::{PASSWORD, link_in, location, set_cookie_header, spawn_app, unique_email};

async fn user_count(app: &crate::helpers::TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.owner_pool).await.unwrap()
}

#[tokio::test]
async fn register_verify_and_log_in_gives_http_only_same_site_session_cookies() {
    let app = spawn_app().await;
    let email = unique_email();

    app.register(&email).await;
    let mail = app.mail_to(&email).await;
    assert!(mail.contains("Confirm your email address"), "{mail}");
    let link = link_in(&mail, "/verify-email").expect("a verification link");

    let client = app.client();
    let verified = client.get(&link).await;
    assert_eq!(location(&verified), "/login?notice=verified");

    let response =
        client.post_form("/login", &[("email", &email.to_uppercase()), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/app");
    for name in ["jarvis_access", "jarvis_refresh"] {
        let cookie = set_cookie_header(&response, name).unwrap_or_else(|| panic!("{name} is set"));
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(cookie.contains("Path=/"), "{cookie}");
        assert!(!cookie.contains("Secure"), "plain http://localhost may not use Secure: {cookie}");
    }
    let access = set_cookie_header(&response, "jarvis_access").unwrap();
    assert!(access.contains("Max-Age=900"), "{access}");

    let page = client.get("/app").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&email));
    assert!(!html.contains("Confirm your email address to start"), "a verified user sees no banner");
    app.stop().await;
}

#[tokio::test]
async fn registering_signs_the_new_user_in_and_the_app_asks_them_to_verify() {
    let app = spawn_app().await;
    let email = unique_email();
    let client = app.client();

    let response = client.post_form("/register", &[("email", &email), ("password", PASSWORD)]).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/app");
    // The same cookies as log-in sets, for a session of its own.
    for name in ["jarvis_access", "jarvis_refresh"] {
        let cookie = set_cookie_header(&response, name).unwrap_or_else(|| panic!("{name} is set"));
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    }
    let sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = $1::citext",
    )
    .bind(&email)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(sessions, 1);

    let page = client.get("/app").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&email), "signed in as the new account");
    assert!(html.contains("Confirm your email address to start talking to Jarvis"), "{html}");
    assert!(app.mail_to(&email).await.contains("Confirm your email address"));
    app.stop().await;
}

#[tokio::test]
async fn cookies_are_secure_when_the_public_url_is_https() {
    let app = crate::helpers::spawn_app_with(&[("JARVIS_PUBLIC_URL", "https://jarvis.example")]).await;
    let email = unique_email();
    app.register_from("https://jarvis.example", &email).await;

    let response = app
        .client()
        .http
        .post(format!("{}/login", app.address))
        .header("origin", "https://jarvis.example")
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();

    let cookie = set_cookie_header(&response, "jarvis_access").expect("logged in");
    assert!(cookie.contains("Secure"), "{cookie}");

    // The theme's cookie too (here a visitor's, who has only the cookie).
    let response = app
        .client()
        .http
        .post(format!("{}/api/save_theme", app.address))
        .header("origin", "https://jarvis.example")
        .form(&[("theme", "dark")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let theme = set_cookie_header(&response, "jarvis_theme").expect("remembered");
    assert!(theme.split("; ").any(|attribute| attribute == "Secure"), "{theme}");
    app.stop().await;
}

#[tokio::test]
async fn an_unverified_user_may_log_in_and_is_asked_to_verify() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let client = app.client();

    app.log_in(&client, &email, PASSWORD).await;

    let html = client.get("/app").await.text().await.unwrap();
    assert!(html.contains("Confirm your email address to start talking to Jarvis"), "{html}");
    app.stop().await;
}

#[tokio::test]
async fn registering_a_taken_address_answers_the_same_and_mails_its_owner_instead() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    app.mail_to(&email).await;

    let again = app
        .client()
        .post_form("/register", &[("email", &email), ("password", "another long passphrase")])
        .await;

    assert_eq!(again.status(), 303);
    assert!(location(&again).starts_with("/login?notice=check_inbox"));
    // No one is signed in by registering someone else's address.
    assert!(set_cookie_header(&again, "jarvis_access").is_none());
    assert!(set_cookie_header(&again, "jarvis_refresh").is_none());
    assert_eq!(user_count(&app).await, 1);
    let mails = app.mails_to(&email, 2).await;
    assert!(mails[1].contains("already has one"), "{}", mails[1]);
    assert!(link_in(&mails[1], "/verify-email").is_none(), "no second verification link");
    app.stop().await;
}

#[tokio::test]
async fn weak_passwords_and_malformed_addresses_are_refused_and_create_nothing() {
    let app = spawn_app().await;
    let email = unique_email();

    for (address, password, code) in [
        ("not-an-address", PASSWORD, "invalid_email"),
        (email.as_str(), "short", "password_too_short"),
        (email.as_str(), "password123", "password_common"),
        (email.as_str(), "1234567890", "password_common"),
        (email.as_str(), "aaaaaaaaaaaa", "password_repetitive"),
    ] {
        let response =
            app.client().post_form("/register", &[("email", address), ("password", password)]).await;
        assert_eq!(response.status(), 303);
        let target = location(&response);
        assert!(target.starts_with(&format!("/register?error={code}")), "{address}/{password}: {target}");
        assert!(!target.contains("password="), "the password never travels back: {target}");
    }
    assert_eq!(user_count(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_address_get_the_same_answer() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;

    let wrong =
        app.client().post_form("/login", &[("email", &email), ("password", "not the password at all")]).await;
    let unknown =
        app.client().post_form("/login", &[("email", "nobody@example.com"), ("password", PASSWORD)]).await;

    assert_eq!(wrong.status(), 303);
    assert_eq!(unknown.status(), 303);
    let wrong = location(&wrong);
    let unknown = location(&unknown);
    assert!(wrong.starts_with("/login?error=invalid_credentials&email="), "{wrong}");
    assert_eq!(wrong.replace(&urlencode(&email), "X"), unknown.replace("nobody%40example.com", "X"));
    app.stop().await;
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[tokio::test]
async fn an_account_is_locked_after_five_failures_even_for_the_right_password_until_the_lock_ends() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let client = app.client();

    for attempt in 1..=5 {
        let response =
            client.post_form("/login", &[("email", &email), ("password", "wrong wrong wrong")]).await;
        assert!(location(&response).starts_with("/login?error=invalid_credentials"), "attempt {attempt}");
    }
    // The sixth failure locks the account for 30 s.
    let sixth = client.post_form("/login", &[("email", &email), ("password", "wrong wrong wrong")]).await;
    assert!(location(&sixth).starts_with("/login?error=invalid_credentials"));
    let locked = client.post_form("/login", &[("email", &email), ("password", PASSWORD)]).await;
    let target = location(&locked);
    assert!(target.starts_with("/login?error=locked&retry="), "{target}");
    let retry: u64 = target.split("retry=").nth(1).unwrap().split('&').next().unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert!(client.cookie("jarvis_access").is_none());

    // Time passes: the lock ends (moved into the past rather than waiting 30 s).
    sqlx::query("UPDATE login_throttle SET locked_until = now() - interval '1 second'")
        .execute(&app.owner_pool)
        .await
        .unwrap();
    app.log_in(&client, &email, PASSWORD).await;

    // Success reset the account's counter: five fresh failures are free again.
    let other = app.client();
    for _ in 1..=5 {
        let response =
            other.post_form("/login", &[("email", &email), ("password", "wrong wrong wrong")]).await;
        assert!(location(&response).starts_with("/login?error=invalid_credentials"));
    }
    let still_open = other.post_form("/login", &[("email", &email), ("password", PASSWORD)]).await;
    assert_eq!(location(&still_open), "/app");
    app.stop().await;
}

#[tokio::test]
async fn one_client_address_is_locked_after_twenty_failures_across_accounts() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;

    for attempt in 0..21 {
        let response = app
            .client()
            .post_form(
                "/login",
                &[("email", &format!("probe{attempt}@example.com")), ("password", "guess guess guess")],
            )
            .await;
        assert!(location(&response).starts_with("/login?error=invalid_credentials"), "attempt {attempt}");
    }
    let locked = app.client().post_form("/login", &[("email", &email), ("password", PASSWORD)]).await;
    assert!(location(&locked).starts_with("/login?error=locked"), "{}", location(&locked));

    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM login_throttle WHERE key LIKE 'address:%' AND locked_until > now()",
    )
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(rows, 1, "the lock is shared through Postgres, so every instance sees it");
    app.stop().await;
}

#[tokio::test]
async fn expired_tampered_unsigned_and_wrong_audience_access_tokens_are_refused() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let genuine = client.cookie("jarvis_access").unwrap();
    let claims = app.access_tokens().verify(&genuine).unwrap();
    let tokens = app.access_tokens();
    let now = Utc::now().timestamp();

    let expired = tokens.issue_at(claims.sub, claims.sid, Utc::now() - chrono::Duration::minutes(20));
    let wrong_audience =
        tokens.sign(&Claims { aud: "not-jarvis".into(), jti: Uuid::new_v4(), ..claims.clone() });
    let tampered = {
        // Another user's claims under the genuine header and signature.
        let other = tokens.issue(Uuid::new_v4(), claims.sid);
        let mut parts: Vec<&str> = genuine.split('.').collect();
        parts[1] = other.split('.').nth(1).unwrap();
        parts.join(".")
    };
    let unsigned = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = b64.encode(
            serde_json::json!({ "sub": claims.sub, "sid": claims.sid, "aud": AUDIENCE, "iat": now, "exp": now + 900, "jti": Uuid::new_v4() })
                .to_string(),
        );
        format!("{header}.{payload}.")
    };

    // Only the access cookie: a refused token must not be rescued by a refresh.
    client.set_cookie("jarvis_refresh", "");
    for (what, token) in [
        ("expired", expired),
        ("wrong audience", wrong_audience),
        ("tampered", tampered),
        ("alg none", unsigned),
    ] {
        client.set_cookie("jarvis_access", &token);
        let response = client.get("/app").await;
        assert_eq!(response.status(), 303, "{what}");
        assert_eq!(location(&response), "/login?next=%2Fapp", "{what}");
    }
    client.set_cookie("jarvis_access", &genuine);
    assert_eq!(client.get("/app").await.status(), 200, "the genuine token still works");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_by_rotating_the_refresh_token() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let first_refresh = client.cookie("jarvis_refresh").unwrap();
    client.set_cookie("jarvis_access", "");

    let response = client.get("/app").await;

    assert_eq!(response.status(), 200);
    assert!(set_cookie_header(&response, "jarvis_access").is_some());
    let second_refresh = client.cookie("jarvis_refresh").unwrap();
    assert_ne!(first_refresh, second_refresh, "the refresh token rotates");
    // (Registering started a session of its own, ended since: only this one counts.)
    let session = app.access_tokens().verify(&client.cookie("jarvis_access").unwrap()).unwrap().sid;
    let tokens: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM refresh_tokens WHERE rotated_at IS NULL AND session_id = $1",
    )
    .bind(session)
    .fetch_one(&app.owner_pool)
    .await
    .unwrap();
    assert_eq!(tokens, 1, "only the newest token of the session is live");
    app.stop().await;
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let stolen = client.cookie("jarvis_refresh").unwrap();
    client.set_cookie("jarvis_access", "");
    assert_eq!(client.get("/app").await.status(), 200, "the owner refreshes first");
    // Beyond the grace window for tabs racing each other.
    sqlx::query("UPDATE refresh_tokens SET rotated_at = rotated_at - interval '1 minute' WHERE rotated_at IS NOT NULL")
        .execute(&app.owner_pool)
        .await
        .unwrap();

    let thief = app.client();
    thief.set_cookie("jarvis_refresh", &stolen);
    let response = thief.get("/app").await;
    assert_eq!(response.status(), 303, "the reused token is refused");
    assert!(
        set_cookie_header(&response, "jarvis_refresh").is_some_and(|c| c.contains("Max-Age=0")),
        "and cleared"
    );

    // The owner's current tokens die with the session too.
    assert_eq!(client.get("/app").await.status(), 303, "the access token of a revoked session is refused");
    client.set_cookie("jarvis_access", "");
    assert_eq!(
        client.get("/app").await.status(),
        303,
        "the newest refresh token of a revoked session is refused"
    );
    app.stop().await;
}

#[tokio::test]
async fn two_tabs_refreshing_at_once_are_not_mistaken_for_theft() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let refresh = client.cookie("jarvis_refresh").unwrap();
    client.set_cookie("jarvis_access", "");
    let other_tab = app.client();
    other_tab.set_cookie("jarvis_refresh", &refresh);

    assert_eq!(client.get("/app").await.status(), 200);
    let racing = other_tab.get("/app").await;

    assert_eq!(racing.status(), 200, "a rotation seconds ago is a race, not a reuse");
    assert!(
        set_cookie_header(&racing, "jarvis_refresh").is_none(),
        "the race gets no refresh token of its own"
    );
    assert_eq!(client.get("/app").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn log_out_ends_this_session_and_log_out_everywhere_ends_all() {
    let app = spawn_app().await;
    let (laptop, phone, email) = app.signed_in_on_two_devices().await;
    let tablet = app.client();
    app.log_in(&tablet, &email, PASSWORD).await;
    let laptop_refresh = laptop.cookie("jarvis_refresh").unwrap();

    let response = laptop.post_form("/logout", &[]).await;
    assert_eq!(location(&response), "/login?notice=logged_out");
    assert!(laptop.cookie("jarvis_access").is_none());
    let replay = app.client();
    replay.set_cookie("jarvis_refresh", &laptop_refresh);
    assert_eq!(replay.get("/app").await.status(), 303, "the logged-out refresh token is dead");
    assert_eq!(phone.get("/app").await.status(), 200, "other devices stay logged in");

    let response = phone.post_form("/logout-everywhere", &[]).await;
    assert_eq!(location(&response), "/login?notice=logged_out_everywhere");
    assert_eq!(tablet.get("/app").await.status(), 303, "every device is logged out");
    app.stop().await;
}

#[tokio::test]
async fn settings_list_the_sessions_and_revoke_one_at_once() {
    let app = spawn_app().await;
    let (laptop, phone, _) = app.signed_in_on_two_devices().await;
    let phone_session = app.access_tokens().verify(&phone.cookie("jarvis_access").unwrap()).unwrap().sid;

    let html = laptop.get("/settings").await.text().await.unwrap();
    assert_eq!(html.matches("data-session-id=").count(), 2, "{html}");
    assert!(html.contains("This device"));
    assert!(html.contains("Chrome on Linux"));

    let response = laptop.post_form(&format!("/settings/sessions/{phone_session}/revoke"), &[]).await;
    assert_eq!(location(&response), "/settings?notice=session_revoked");
    assert_eq!(
        phone.get("/app").await.status(),
        303,
        "the revoked device is out, without waiting for its token to expire"
    );
    let html = laptop.get("/settings").await.text().await.unwrap();
    assert_eq!(html.matches("data-session-id=").count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn a_user_cannot_see_or_revoke_another_users_sessions() {
    let app = spawn_app().await;
    let (alice, alice_email) = app.signed_in_client().await;
    let (bob, _) = app.signed_in_client().await;
    let alice_session = app.access_tokens().verify(&alice.cookie("jarvis_access").unwrap()).unwrap().sid;

    let response = bob.post_form(&format!("/settings/sessions/{alice_session}/revoke"), &[]).await;
    assert_eq!(response.status(), 404);
    assert_eq!(alice.get("/app").await.status(), 200, "Alice is still logged in");
    let bobs_settings = bob.get("/settings").await.text().await.unwrap();
    assert!(!bobs_settings.contains(&alice_email));
    assert!(!bobs_settings.contains(&alice_session.to_string()));
    app.stop().await;
}

#[tokio::test]
async fn a_verification_link_works_once_and_not_after_it_expires() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let link = app.link_in_mail(&email, "/verify-email").await;

    assert_eq!(location(&app.client().get(&link).await), "/login?notice=verified");
    assert_eq!(location(&app.client().get(&link).await), "/login?error=invalid_link", "single use");
    assert_eq!(location(&app.client().get("/verify-email?token=forged").await), "/login?error=invalid_link");

    // A second account whose link has expired.
    let late = unique_email();
    app.register(&late).await;
    let late_link = app.link_in_mail(&late, "/verify-email").await;
    sqlx::query("UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
        .execute(&app.owner_pool)
        .await
        .unwrap();
    assert_eq!(location(&app.client().get(&late_link).await), "/login?error=invalid_link");
    let verified: bool =
        sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE email = $1")
            .bind(&late)
            .fetch_one(&app.owner_pool)
            .await
            .unwrap();
    assert!(!verified);
    app.stop().await;
}

#[tokio::test]
async fn a_password_reset_link_sets_a_new_password_once_and_logs_every_device_out() {
    let app = spawn_app().await;
    let (laptop, email) = app.signed_in_client().await;

    let unknown = app.client().post_form("/forgot-password", &[("email", "nobody-here@example.com")]).await;
    let known = app.client().post_form("/forgot-password", &[("email", &email)]).await;
    assert!(location(&unknown).starts_with("/forgot-password?notice=reset_sent"));
    assert!(location(&known).starts_with("/forgot-password?notice=reset_sent"));
    let mails = app.mails_to(&email, 2).await;
    let link = link_in(&mails[1], "/reset-password").expect("a reset link");
    let token = link.split("token=").nth(1).unwrap().to_owned();
    let token =
        url::form_urlencoded::parse(format!("token={token}").as_bytes()).next().unwrap().1.into_owned();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(app.read_mails_to("nobody-here@example.com").is_empty(), "no mail to an unknown address");

    // The page says nothing against a live link, and asking does not use it up.
    let page = app.client().get(&format!("/reset-password?token={token}")).await.text().await.unwrap();
    assert!(!page.contains("reset-link-dead"), "{page}");
    assert!(page.contains("Set new password"), "{page}");
    // A weak password is refused and the link stays usable.
    let weak = app.client().post_form("/reset-password", &[("token", &token), ("password", "short")]).await;
    assert!(location(&weak).starts_with("/reset-password?error=password_too_short"), "{}", location(&weak));
    assert!(location(&weak).contains("token="));

    let new_password = "a brand new passphrase";
    let reset =
        app.client().post_form("/reset-password", &[("token", &token), ("password", new_password)]).await;
    assert_eq!(location(&reset), "/login?notice=password_reset");

    assert_eq!(laptop.get("/app").await.status(), 303, "every session ended with the reset");
    let old = app.client().post_form("/login", &[("email", &email), ("password", PASSWORD)]).await;
    assert!(location(&old).starts_with("/login?error=invalid_credentials"));
    app.log_in(&app.client(), &email, new_password).await;

    let again = app
        .client()
        .post_form("/reset-password", &[("token", &token), ("password", "yet another passphrase")])
        .await;
    assert_eq!(location(&again), "/forgot-password?error=invalid_link", "single use");
    // Used, made up or missing, the page says so at once, with the way to a new link.
    for token in [token.as_str(), "not-a-token", ""] {
        let page = app.client().get(&format!("/reset-password?token={token}")).await.text().await.unwrap();
        assert!(
            page.contains("reset-link-dead")
                && page.contains("This link is invalid, expired or was already used."),
            "{token}: {page}"
        );
        assert!(page.contains(r#"href="/forgot-password""#), "{page}");
    }
    app.stop().await;
}

#[tokio::test]
async fn state_changing_requests_from_another_site_are_refused() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email).await;
    let http = app.client().http;
    let form = [("email", email.as_str()), ("password", PASSWORD)];
    let url = format!("{}/login", app.address);

    let foreign = http.post(&url).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    let foreign_referer =
        http.post(&url).header("referer", "https://evil.example/page").form(&form).send().await.unwrap();
    let neither = http.post(&url).form(&form).send().await.unwrap();
    let our_referer =
        http.post(&url).header("referer", format!("{}/login", app.address)).form(&form).send().await.unwrap();

    assert_eq!(foreign.status(), 403);
    assert_eq!(foreign_referer.status(), 403);
    assert_eq!(neither.status(), 403);
    assert_eq!(location(&our_referer), "/app");
    app.stop().await;
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_removes_every_row_of_the_user() {
    let app = spawn_app().await;
    let (client, email) = app.signed_in_client().await;
    let (other, _) = app.signed_in_client().await;

    let wrong = client.post_form("/settings/delete-account", &[("password", "not my password")]).await;
    assert_eq!(location(&wrong), "/settings?error=wrong_password");
    assert_eq!(user_count(&app).await, 2);

    let deleted = client.post_form("/settings/delete-account", &[("password", PASSWORD)]).await;
    assert_eq!(location(&deleted), "/login?notice=account_deleted");
    assert!(client.cookie("jarvis_access").is_none());

    let user_id: Option<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(&app.owner_pool)
        .await
        .unwrap();
    assert!(user_id.is_none());
    for table in ["sessions", "refresh_tokens", "email_tokens"] {
        let orphans: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = t.user_id)"
        ))
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "{table}");
    }
    let refused = app.client().post_form("/login", &[("email", &email), ("password", PASSWORD)]).await;
    assert!(location(&refused).starts_with("/login?error=invalid_credentials"));
    assert_eq!(other.get("/app").await.status(), 200, "other users are untouched");
    app.stop().await;
}
