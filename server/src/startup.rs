//! Builds the application (database, migrations, router, listener) and runs it until told to stop.

use std::future::Future;
use std::sync::{Arc, LazyLock};

use axum::{
    Router,
    extract::DefaultBodyLimit,
    middleware,
    routing::{get, post},
};
use jarvis_app::{App, OUTPUT_NAME, shell};
use jarvis_backend::{
    accounts::{AccountSettings, Accounts, jwt::AccessTokens},
    agent::{tools::ToolRegistry, turn::TurnLimits},
    attachments::{AttachmentLimits, Attachments},
    billing::{Billing, BillingSettings},
    chat::{Chat, ChatServices, ChatSettings, Engine, JournalSettings},
    connections::{Connections, TokenCipher},
    mail::{MailSettings, Mailer},
    mcp::client::ConnectorTools,
    models::ModelCatalog,
    storage::BlobStore,
    voice::{
        SpeechEngine, SpeechRequest, Voice, espeak::EspeakSpeech, openai::OpenAiSpeech, piper::PiperSpeech,
    },
};
use leptos::prelude::*;
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

use crate::config::VoiceEngineConfig;
use crate::{
    auth,
    config::{Config, is_loopback},
    routes::{self, assets::Site, health, ws},
    security,
    state::AppState,
};

/// Why the application could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("could not reach or migrate the database")]
    Database(#[from] jarvis_backend::Error),
    #[error("object storage is unreachable or misconfigured")]
    Storage(#[from] jarvis_backend::storage::StorageError),
    #[error("the voice engine does not work: {0} (install it, or set JARVIS_VOICE_ENGINE=off)")]
    Voice(String),
    #[error("billing is misconfigured: {0}")]
    Billing(String),
    #[error("the models are misconfigured: {0}")]
    Models(String),
    #[error("mail is misconfigured")]
    Mail(#[from] jarvis_backend::mail::MailError),
    #[error("JARVIS_JWT_SECRET is not set; it is required when the public URL ({0}) is not on localhost")]
    MissingJwtSecret(url::Url),
    #[error("could not listen on {addr}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("the chat engine could not start: {0}")]
    Chat(String),
    #[error("the server failed")]
    Serve(#[source] std::io::Error),
}

/// A built application: bound to its port, database migrated, ready to run.
pub struct Application {
    listener: TcpListener,
    /// `GET /metrics`'s own listener, when metrics are on.
    metrics_listener: Option<TcpListener>,
    router: Router,
    state: AppState,
    /// The run engine's background tasks, stopped in order at shutdown.
    engine: Engine,
}

impl Application {
    #[tracing::instrument(name = "startup.build", skip_all, fields(addr = %config.listen_addr))]
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        if config.metrics_addr.is_some() {
            // Installed before anything is recorded.
            crate::metrics::handle();
        }
        jarvis_backend::db::migrate(&config.database).await?;
        tracing::info!("startup.migrations_applied");
        let pool = jarvis_backend::db::pool(&config.database)?;
        jarvis_backend::db::check_runtime_role(&pool).await?;

        let listener = TcpListener::bind(config.listen_addr)
            .await
            .map_err(|source| StartupError::Bind { addr: config.listen_addr, source })?;
        // Failing to bind the metrics address is a start-up error: an operator who asked for
        // metrics is told at once.
        let metrics_listener = match config.metrics_addr {
            Some(addr) => {
                Some(TcpListener::bind(addr).await.map_err(|source| StartupError::Bind { addr, source })?)
            }
            None => None,
        };
        let local_addr = listener.local_addr().map_err(StartupError::Serve)?;
        let public_url = config.public_url_for_port(local_addr.port());
        let loopback = is_loopback(&public_url);

        let jwt_secret = match &config.auth.jwt_secret {
            Some(secret) => secret.clone(),
            None if loopback => {
                tracing::warn!(
                    "startup.random_jwt_secret: JARVIS_JWT_SECRET is unset; sessions survive restarts through their refresh tokens only"
                );
                SecretString::from(
                    jarvis_backend::accounts::tokens::OpaqueToken::generate().expose().to_owned(),
                )
            }
            None => return Err(StartupError::MissingJwtSecret(public_url)),
        };
        let mail_settings = match &config.mail.smtp_url {
            Some(url) => MailSettings::Smtp { url: url.clone() },
            None => MailSettings::Outbox { dir: config.mail.outbox_dir.clone() },
        };
        let mailer = Mailer::new(&mail_settings, &config.mail.from)?;
        let mut account_settings = AccountSettings::new(public_url.clone());
        account_settings.sessions.lifetime = config.auth.session_ttl;
        account_settings.sessions.idle_timeout = config.auth.session_idle_timeout;
        account_settings.mail_limits = config.mail.limits;
        let accounts = Accounts::new(
            pool.clone(),
            mailer,
            AccessTokens::new(&jwt_secret, config.auth.access_token_ttl),
            account_settings,
        )
        .await;

        let site = Site::load(&config.site_root, OUTPUT_NAME);
        let mut leptos_options = LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(config.site_root.as_str())
            .site_pkg_dir(routes::assets::PKG_DIR)
            .site_addr(local_addr)
            .reload_port(config.reload_port)
            .build();
        // A site built with hashed names: pages name `jarvis.<hash>.js` and the like.
        if let Some(hash_file) = site.hash_file() {
            leptos_options.hash_files = true;
            leptos_options.hash_file = Arc::from(hash_file.to_string_lossy().as_ref());
        }
        let models = ModelCatalog::build(&config.model.models, &config.model.provider_defaults())
            .map_err(|error| StartupError::Models(error.to_string()))?;
        let store = BlobStore::new(&config.storage.settings)?;
        store.check().await?;
        let voice = voice_service(&config.voice, pool.clone(), store.clone()).await?;
        let billing = Billing::new(
            pool.clone(),
            BillingSettings {
                // Runs record their model's id; a configured model is metered at its own prices.
                catalog: {
                    let mut catalog = config.billing.catalog.clone();
                    catalog.set_model_prices(config.model.models.prices());
                    catalog
                },
                stripe: config.billing.stripe.clone(),
                public_url: public_url.clone(),
            },
        )
        .map_err(|error| StartupError::Billing(error.to_string()))?;
        let mut tools = ToolRegistry::standard();
        jarvis_backend::library::documents::tools::register(&mut tools, pool.clone(), Some(billing.clone()));
        let attachments = Attachments::new(
            pool.clone(),
            store.clone(),
            AttachmentLimits {
                library_max_bytes: config.storage.upload_max_bytes,
                ..AttachmentLimits::default()
            },
        )
        .with_billing(billing.clone());
        jarvis_backend::attachments::tools::register(&mut tools, attachments.clone());
        jarvis_backend::web::register(&mut tools, &config.web.settings);
        let connections = Connections::new(pool.clone(), connector_cipher(&config, &jwt_secret));
        let connector_tools =
            ConnectorTools::new(connections.connectors.clone(), config.web.settings.outbound);
        let chat = Chat::new(
            ChatServices {
                pool: pool.clone(),
                models,
                tools,
                connector_tools: Some(connector_tools.clone()),
                attachments: attachments.clone(),
                voice: Some(voice.clone()),
                billing: billing.clone(),
            },
            ChatSettings {
                limits: TurnLimits {
                    max_model_calls: config.model.max_model_calls,
                    token_budget: config.model.run_token_budget,
                },
                context_budget_tokens: config.model.context_tokens,
            },
            JournalSettings::default(),
        );
        let engine = chat.start_engine().await.map_err(|error| StartupError::Chat(error.to_string()))?;
        let shutdown = CancellationToken::new();
        billing.spawn_worker(shutdown.clone());
        attachments.spawn_sweeper(ATTACHMENT_SWEEP_INTERVAL, shutdown.clone());
        // Sockets of a session that ends (on any instance) are closed within moments.
        accounts.watch_revocations(config.auth.session_check_interval, shutdown.clone());
        let transcription = jarvis_backend::transcription::Transcription::new(
            config.transcription.engine.engine(),
            config.transcription.limits,
            billing.clone(),
        );
        let state = AppState {
            config: Arc::new(config),
            secure_cookies: !(loopback && public_url.scheme() == "http"),
            public_url,
            pool,
            accounts,
            chat,
            store,
            attachments,
            voice,
            transcription,
            billing,
            connections,
            connector_tools,
            leptos_options,
            shutdown,
        };
        let router = router(state.clone(), site);
        tracing::info!(addr = %local_addr, public_url = %state.public_url, "startup.listening");
        Ok(Self { listener, metrics_listener, router, state, engine })
    }

    /// The address `GET /metrics` is served on, if metrics are on.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_listener.as_ref().and_then(|listener| listener.local_addr().ok())
    }

    /// The port actually bound (useful when the configuration asked for port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|addr| addr.port()).unwrap_or_default()
    }

    /// Serves until `stop` resolves, then closes sockets and lets open requests finish for up
    /// to the configured grace period.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let Self { listener, metrics_listener, router, state, engine } = self;
        let shutdown = state.shutdown.clone();
        if let Some(metrics_listener) = metrics_listener {
            crate::metrics::serve(metrics_listener, state.pool.clone(), shutdown.clone());
        }
        let shutdown_at = Arc::new(std::sync::OnceLock::new());
        tokio::spawn({
            let shutdown = shutdown.clone();
            let shutdown_at = Arc::clone(&shutdown_at);
            async move {
                stop.await;
                tracing::info!("shutdown.begin");
                let _ = shutdown_at.set(tokio::time::Instant::now());
                shutdown.cancel();
            }
        });

        let serve =
            axum::serve(listener, router.into_make_service_with_connect_info::<std::net::SocketAddr>())
                .with_graceful_shutdown(shutdown.clone().cancelled_owned());
        let grace = state.config.shutdown_grace;
        let result = tokio::select! {
            result = serve => result.map_err(StartupError::Serve),
            () = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_secs = grace.as_secs(), "shutdown.grace_expired");
                Ok(())
            }
        };
        // Replies in progress run on without their sockets: they get what is left of the grace
        // period to finish; past it they end cleanly, with what they had written kept. Stop
        // keeps working meanwhile, from any instance.
        let since_shutdown = shutdown_at.get().map_or(std::time::Duration::ZERO, |at| at.elapsed());
        let left = grace.saturating_sub(since_shutdown);
        // Bounded, like every step of a shutdown: a stop that never ends is worse than one that
        // leaves something behind (the lease then expires and another instance's reaper ends
        // what was left).
        let engine_limit = left + ENGINE_STOP_LIMIT;
        match tokio::time::timeout(engine_limit, state.chat.shut_down(engine, left)).await {
            Ok(interrupted) => tracing::info!(interrupted, "shutdown.runs_ended"),
            Err(_) => tracing::error!(limit_secs = engine_limit.as_secs(), "shutdown.engine_stop_timed_out"),
        }
        close_pool(&state.pool, POOL_CLOSE_LIMIT).await;
        tracing::info!("shutdown.complete");
        result
    }
}

/// The key connector tokens are encrypted with: `JARVIS_ENCRYPTION_KEY`, else derived from the
/// JWT secret (see the README).
fn connector_cipher(config: &Config, jwt_secret: &SecretString) -> TokenCipher {
    match &config.connections.encryption_key {
        Some(key) => TokenCipher::derive(key.expose_secret().as_bytes()),
        None => TokenCipher::derive(jwt_secret.expose_secret().as_bytes()),
    }
}

/// How often unsent attachments past their lifetime are swept away.
const ATTACHMENT_SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// How long the run engine may take to stop beyond the grace period: the runs it interrupts
/// get 15 s to end and the journal 10 s to write what it holds.
const ENGINE_STOP_LIMIT: std::time::Duration = std::time::Duration::from_secs(35);

/// How long closing the pool may take. `Pool::close` waits until every connection handed out has
/// come back; one held by a task that never ends (or that Postgres never answers) would
/// otherwise keep the process from ever exiting.
const POOL_CLOSE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Closes the pool, giving up after `limit` with a warning: the connections still out are then
/// closed by the operating system when the process exits.
async fn close_pool(pool: &sqlx::PgPool, limit: std::time::Duration) {
    if tokio::time::timeout(limit, pool.close()).await.is_err() {
        tracing::warn!(
            limit_secs = limit.as_secs(),
            connections = pool.size(),
            idle = pool.num_idle(),
            "shutdown.pool_close_timed_out: connections still held were not given back"
        );
    }
}

/// The configured speech engine, tried once with a word so that a broken installation stops
/// the start rather than every reply's voice.
async fn voice_service(
    config: &crate::config::VoiceConfig,
    pool: sqlx::PgPool,
    store: BlobStore,
) -> Result<Voice, StartupError> {
    let engine: Option<Arc<dyn SpeechEngine>> = match &config.engine {
        VoiceEngineConfig::Off => None,
        VoiceEngineConfig::Espeak(settings) => Some(Arc::new(EspeakSpeech::new(settings.clone()))),
        VoiceEngineConfig::Piper(settings) => Some(Arc::new(PiperSpeech::new(settings.clone()))),
        VoiceEngineConfig::OpenAi(settings) => Some(Arc::new(OpenAiSpeech::new(settings.clone()))),
    };
    if let Some(engine) = &engine {
        // A paid API is not called to check it; local engines are.
        if engine.name() != "openai" {
            let request = SpeechRequest {
                text: "Ready.".into(),
                voice: engine.voices().into_iter().next().unwrap_or_default(),
                speed: 1.0,
            };
            engine.synthesize(&request).await.map_err(|error| StartupError::Voice(error.to_string()))?;
        }
        tracing::info!(engine = engine.name(), "startup.voice_ready");
    }
    Ok(Voice::new(engine, pool, store, config.limits))
}

/// The pages of the Leptos app, listed once per process.
///
/// Listing them renders the whole app while `leptos_server`'s `SuppressResourceLoad` is held,
/// and that switch is global to the process: a resource first polled on any thread meanwhile
/// waits forever (`pending()`), so a page rendering at that moment is never answered. One
/// server per process only lists its pages before it listens, but the integration tests build
/// many servers in one process, concurrently; a page of one test rendered while another test's
/// server was starting hung that request, and the test with it. Listed once, the switch is only
/// ever set before the first server exists.
static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));

fn router(state: AppState, site: Site) -> Router {
    let routes = ROUTES.clone();
    let leptos_options = state.leptos_options.clone();
    let page_context = {
        let accounts = state.accounts.clone();
        let chat = state.chat.clone();
        let store = state.store.clone();
        let voice = state.voice.clone();
        let billing = state.billing.clone();
        let connections = state.connections.clone();
        let connector_tools = state.connector_tools.clone();
        let cookies_secure = jarvis_app::server_context::CookiesSecure(state.secure_cookies);
        move || {
            provide_context(cookies_secure);
            provide_context(billing.clone());
            provide_context(connections.clone());
            provide_context(connector_tools.clone());
            provide_context(accounts.clone());
            provide_context(chat.clone());
            provide_context(store.clone());
            provide_context(voice.clone());
        }
    };
    let server_fn_context = page_context.clone();
    // Pages render with the nonce their CSP header names (see `security`).
    let page_context = move || {
        page_context();
        security::provide_page_nonce();
    };
    let csp = security::Policy::new(
        &state.public_url,
        state.config.billing.stripe.as_ref().map(|stripe| &stripe.api.api_base),
        std::env::var_os("LEPTOS_WATCH").map(|_| state.config.reload_port),
    );
    let https = state.public_url.scheme() == "https";

    let router = Router::new()
        .route("/healthz", get(health::liveness))
        .route("/readyz", get(health::readiness))
        .route(jarvis_types::protocol::WS_PATH, get(ws::upgrade))
        .nest_service(&format!("/{}", routes::assets::PKG_DIR), site.pkg_service())
        .route("/register", post(routes::auth::register))
        .route("/login", post(routes::auth::login))
        .route("/logout", post(routes::auth::logout))
        .route("/logout-everywhere", post(routes::auth::logout_everywhere))
        .route("/verify-email", get(routes::auth::verify_email))
        .route("/resend-verification", post(routes::auth::resend_verification))
        .route("/forgot-password", post(routes::auth::forgot_password))
        .route("/reset-password", post(routes::auth::reset_password))
        .route("/settings/sessions/{id}/revoke", post(routes::auth::revoke_session))
        .route("/settings/delete-account", post(routes::auth::delete_account))
        .route("/settings/change-password", post(routes::auth::change_password))
        .route("/api/documents/{id}/download", get(routes::library::download_document))
        .route("/api/files/{id}", get(routes::library::file))
        .route("/api/library.zip", get(routes::library::export))
        .route("/api/conversations/{id}/export.md", get(routes::export::conversation_markdown))
        .route(jarvis_types::account::EXPORT_PATH, get(routes::account_export::download))
        .route(
            "/api/uploads",
            post(routes::library::upload).layer(DefaultBodyLimit::max(routes::library::UPLOAD_BODY_LIMIT)),
        )
        .route(
            "/api/attachments",
            post(routes::attachments::upload).layer(DefaultBodyLimit::max(routes::attachments::body_limit(
                state.attachments.limits().upload_max_bytes,
            ))),
        )
        .route("/api/attachments/from-file/{file_id}", post(routes::attachments::from_file))
        .route(
            "/api/attachments/{id}",
            get(routes::attachments::download).delete(routes::attachments::delete),
        )
        .route("/api/attachments/{id}/thumbnail", get(routes::attachments::thumbnail))
        .route(routes::models::PATH, get(routes::models::list))
        .route("/api/clips/{id}", get(routes::voice::clip))
        .route("/api/clips/{id}/retry", post(routes::voice::retry))
        .route(
            routes::transcriptions::PATH,
            post(routes::transcriptions::transcribe)
                .layer(routes::transcriptions::body_limit(&state.config.transcription.limits)),
        )
        .route(jarvis_types::billing::CHECKOUT_PATH, post(routes::billing::checkout))
        .route(jarvis_types::billing::PORTAL_PATH, post(routes::billing::portal))
        .route(
            "/api/{*fn_name}",
            post(move |request: axum::extract::Request| {
                leptos_axum::handle_server_fns_with_context(server_fn_context.clone(), request)
            })
            // A client's mistake (a body past the limit, arguments that do not parse) is a 4xx.
            .layer::<_, std::convert::Infallible>(middleware::from_fn(routes::server_fns::guard)),
        )
        .leptos_routes_with_context(&state, routes, page_context, move || shell(leptos_options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            security::provide_page_nonce,
            shell,
        ))
        // A client's mistake with a server function (a body past the limit, arguments that do
        // not parse) is a 4xx; Leptos routes each one itself, so this runs for the router.
        .layer(middleware::from_fn_with_state(
            routes::server_fns::paths(),
            routes::server_fns::guard_server_fns,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth::session_layer))
        .layer(middleware::from_fn_with_state(state.clone(), auth::same_origin_layer))
        // Stripe's webhook comes from Stripe, not a page, and its signature is its
        // authentication: it is added after the session and same-origin layers, outside them.
        .route(
            routes::billing::WEBHOOK_PATH,
            post(routes::billing::webhook).layer(DefaultBodyLimit::max(routes::billing::WEBHOOK_BODY_LIMIT)),
        )
        // MCP clients (connected apps) are not pages either: `/mcp` checks their bearer token and
        // a browser's Origin itself.
        .merge(routes::mcp::router(&state))
        // Every route, counted by its pattern (added last, so it sees every route's answer).
        .layer(middleware::from_fn(crate::metrics::count_requests))
        // Static files say how long they may be cached before `security` says "no-store".
        .layer(middleware::from_fn_with_state(site, routes::assets::static_cache));
    security::layers(router, csp, https)
        .layer(routes::assets::compression())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(crate::telemetry::http::request_span)
                .on_request(())
                .on_response(crate::telemetry::http::record_response),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}
