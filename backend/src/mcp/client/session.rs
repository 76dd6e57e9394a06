//! One connection to a connector's MCP server, over Streamable HTTP with the official SDK: the
//! address checked and every connection made through the outbound policy's client, the user's
//! token sent as `Authorization: Bearer …`, the current protocol revision offered first (with the
//! `initialize` handshake as the fallback for servers of earlier revisions). Whatever goes wrong
//! is classified into a [`Failure`] that can be told in a sentence, without the token and
//! without the URL's query.

use std::time::Duration;

use rmcp::ServiceError;
use rmcp::model::{ClientCapabilities, ClientConfig, Implementation, ProtocolVersion};
use rmcp::service::{
    ClientInitializeError, ClientLifecycleMode, ClientServiceExt as _, RoleClient, RunningService,
};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::{
    AuthRequiredError, InsufficientScopeError, StreamableHttpClientTransportConfig, StreamableHttpError,
};
use secrecy::{ExposeSecret as _, SecretString};
use url::Url;

use crate::web::outbound::{self, OutboundError, OutboundPolicy};

/// A live MCP session with a connector's server.
pub type Session = RunningService<RoleClient, ClientConfig>;

/// How long establishing a TCP (and TLS) connection may take.
pub const TCP_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest single answer (a JSON body or an SSE event) taken from a server: tool results
/// are cut far below this anyway, but an image or a long list may be large on the wire.
const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

/// Why a server could not be used; told as a sentence by [`Failure::for_user`] (adding or
/// refreshing a connector, about its URL) or [`Failure::for_model`] (a tool call, about its name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The outbound policy refuses the address.
    Refused(OutboundError),
    /// No connection: "connection refused", "no server answers at that name"…
    Unreachable(String),
    /// 401 or 403: the token is missing, wrong or expired.
    Unauthorized(u16),
    /// Another HTTP error status (a 5xx, a 429).
    Status(u16),
    /// Something answered, but not as an MCP server does; what it did instead.
    NotMcp(String),
    /// The server answered a JSON-RPC error.
    Rejected(String),
    /// No answer in time.
    TimedOut(Duration),
}

impl Failure {
    /// The sentence for the user adding or refreshing the connector at `url`.
    pub fn for_user(&self, url: &Url) -> String {
        let shown = shown_url(url);
        match self {
            Self::Refused(refused) => refused.to_string(),
            Self::Unreachable(reason) => format!("Jarvis could not reach {shown}: {reason}."),
            Self::Unauthorized(status) => {
                format!("{shown} answered {}: check the token.", status_text(*status))
            }
            Self::Status(status) => format!("{shown} answered {}; try again later.", status_text(*status)),
            Self::NotMcp(detail) => format!("{shown} does not speak MCP ({detail})."),
            Self::Rejected(message) => format!("{shown} refused to start an MCP session: {message}"),
            Self::TimedOut(limit) => format!("{shown} did not answer within {} s.", limit.as_secs()),
        }
    }

    /// The sentence for the model, whose call of a tool of the connector `name` failed.
    pub fn for_model(&self, name: &str) -> String {
        match self {
            Self::Refused(refused) => format!("The MCP server {name} cannot be used: {refused}"),
            Self::Unreachable(reason) => format!("The MCP server {name} could not be reached: {reason}."),
            Self::Unauthorized(status) => format!(
                "The MCP server {name} answered {}: its token in Settings → Connections is wrong or expired.",
                status_text(*status)
            ),
            Self::Status(status) => format!("The MCP server {name} answered {}.", status_text(*status)),
            Self::NotMcp(detail) => {
                format!("The MCP server {name} did not answer as an MCP server ({detail}).")
            }
            Self::Rejected(message) => format!("The MCP server {name} refused the call: {message}"),
            Self::TimedOut(limit) => {
                format!("The MCP server {name} did not answer within {} s.", limit.as_secs())
            }
        }
    }

    /// Whether the session it happened on is no longer worth using (the next call reconnects).
    pub fn breaks_session(&self) -> bool {
        !matches!(self, Self::Rejected(_) | Self::TimedOut(_))
    }
}

/// Connects to the MCP server at `url` and completes the handshake (no overall time limit: the
/// caller sets one, and dropping the future abandons the attempt).
pub async fn connect(
    policy: OutboundPolicy,
    url: &Url,
    token: Option<&SecretString>,
) -> Result<Session, Failure> {
    outbound::check_url(policy, url).map_err(Failure::Refused)?;
    let http = outbound::client_builder(policy)
        // A connector's URL was checked, and a redirect to the same origin reaches the same
        // host: only those are followed, and only 307/308, which keep the POST and its body.
        .redirect(same_origin_redirects())
        .connect_timeout(TCP_CONNECT_TIMEOUT)
        .build()
        .map_err(|error| Failure::Unreachable(format!("its client could not be set up ({error})")))?;
    let mut config = StreamableHttpClientTransportConfig::with_uri(url.as_str())
        .max_json_response_size(MAX_MESSAGE_BYTES)
        .max_sse_event_size(MAX_MESSAGE_BYTES);
    if let Some(token) = token {
        config = config.auth_header(token.expose_secret());
    }
    let transport = StreamableHttpClientTransport::with_client(http, config);
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("jarvis", env!("CARGO_PKG_VERSION")).with_title("Jarvis"),
    )
    .with_protocol_version(ProtocolVersion::LATEST_WITH_INITIALIZE);
    let lifecycle = ClientLifecycleMode::Auto {
        preferred_versions: vec![ProtocolVersion::LATEST],
        legacy_version: Some(ProtocolVersion::LATEST_WITH_INITIALIZE),
    };
    client.serve_with_lifecycle(transport, lifecycle).await.map_err(|error| classify_initialize(&error))
}

/// The name the server gives itself, if it gave one.
pub fn server_name(session: &Session) -> Option<String> {
    let info = session.peer_info()?;
    let implementation = info.server_info.as_ref()?;
    let name = implementation
        .title
        .as_deref()
        .filter(|title| !title.trim().is_empty())
        .unwrap_or(&implementation.name);
    Some(name.to_owned()).filter(|name| !name.trim().is_empty())
}

/// `scheme://host[:port]/path` of a connector's URL: its query may hold a key.
pub fn shown_url(url: &Url) -> String {
    let mut shown = url.clone();
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status) {
        Ok(code) => code.to_string(),
        Err(_) => status.to_string(),
    }
}

fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let keeps_body = matches!(
            attempt.status(),
            reqwest::StatusCode::TEMPORARY_REDIRECT | reqwest::StatusCode::PERMANENT_REDIRECT
        );
        let same_origin =
            attempt.previous().first().is_some_and(|first| first.origin() == attempt.url().origin());
        if !keeps_body || !same_origin {
            attempt.stop()
        } else if attempt.previous().len() > outbound::MAX_REDIRECTS {
            attempt.error(OutboundError::TooManyRedirects)
        } else {
            attempt.follow()
        }
    })
}

type HttpError = StreamableHttpError<reqwest::Error>;

fn classify_initialize(error: &ClientInitializeError) -> Failure {
    match error {
        ClientInitializeError::TransportError { error, .. } => classify_transport(error.error.as_ref()),
        ClientInitializeError::LegacyFallbackFailed { fallback, .. } => classify_initialize(fallback),
        ClientInitializeError::JsonRpcError(data) => Failure::Rejected(data.message.to_string()),
        ClientInitializeError::ConnectionClosed(_) => {
            Failure::NotMcp("it closed the connection during the handshake".to_owned())
        }
        ClientInitializeError::NoCompatibleProtocolVersion { server_supported, .. } => {
            let versions: Vec<String> = server_supported.iter().map(ToString::to_string).collect();
            Failure::NotMcp(format!("it supports only protocol versions {}", versions.join(", ")))
        }
        other => Failure::NotMcp(short(&other.to_string())),
    }
}

/// The failure behind a request of an established session.
pub fn classify_call(error: &ServiceError) -> Failure {
    match error {
        ServiceError::McpError(data) => Failure::Rejected(data.message.to_string()),
        ServiceError::TransportSend(error) => classify_transport(error.error.as_ref()),
        ServiceError::TransportClosed => Failure::Unreachable("the connection was closed".to_owned()),
        ServiceError::Timeout { timeout } => Failure::TimedOut(*timeout),
        ServiceError::UnexpectedResponse => Failure::NotMcp("its answer was not a tool result".to_owned()),
        other => Failure::NotMcp(short(&other.to_string())),
    }
}

fn classify_transport(error: &(dyn std::error::Error + Send + Sync + 'static)) -> Failure {
    let error: &(dyn std::error::Error + 'static) = error;
    if let Some(refused) = outbound::refusal(error) {
        return Failure::Refused(refused.clone());
    }
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<AuthRequiredError>() {
            return Failure::Unauthorized(401);
        }
        if error.is::<InsufficientScopeError>() {
            return Failure::Unauthorized(403);
        }
        if let Some(http) = error.downcast_ref::<HttpError>() {
            return classify_http(http);
        }
        if let Some(request) = error.downcast_ref::<reqwest::Error>() {
            return classify_reqwest(request);
        }
        current = error.source();
    }
    Failure::Unreachable(short(&error.to_string()))
}

fn classify_http(error: &HttpError) -> Failure {
    match error {
        StreamableHttpError::Client(request) => classify_reqwest(request),
        StreamableHttpError::AuthRequired(_) => Failure::Unauthorized(401),
        StreamableHttpError::InsufficientScope(_) => Failure::Unauthorized(403),
        StreamableHttpError::HttpStatus(status) => Failure::Status(status.status),
        StreamableHttpError::UnexpectedServerResponse(message) => match http_status(message) {
            Some(status @ (401 | 403)) => Failure::Unauthorized(status),
            Some(status) => Failure::NotMcp(format!("it answered {}", status_text(status))),
            None => Failure::NotMcp(short(message)),
        },
        StreamableHttpError::UnexpectedContentType(content_type) => Failure::NotMcp(match content_type {
            Some(content_type) => format!("it answered with {}", short(content_type)),
            None => "it answered without a content type".to_owned(),
        }),
        StreamableHttpError::Deserialize(_) => Failure::NotMcp("its answer is not JSON-RPC".to_owned()),
        StreamableHttpError::ResponseBodyTooLarge { max_size } => {
            Failure::NotMcp(format!("an answer was larger than {} MB", max_size / (1024 * 1024)))
        }
        StreamableHttpError::Io(error) => Failure::Unreachable(io_reason(error)),
        StreamableHttpError::SessionExpired => Failure::NotMcp("it forgot the session".to_owned()),
        other => Failure::NotMcp(short(&other.to_string())),
    }
}

fn classify_reqwest(error: &reqwest::Error) -> Failure {
    if let Some(refused) = outbound::refusal(error) {
        return Failure::Refused(refused.clone());
    }
    if let Some(status) = error.status() {
        return match status.as_u16() {
            status @ (401 | 403) => Failure::Unauthorized(status),
            status if status == 429 || status >= 500 => Failure::Status(status),
            status => Failure::NotMcp(format!("it answered {}", status_text(status))),
        };
    }
    if error.is_timeout() {
        return Failure::Unreachable("the connection timed out".to_owned());
    }
    if error.is_redirect() {
        return Failure::NotMcp("it redirected Jarvis elsewhere".to_owned());
    }
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Failure::Unreachable(io_reason(io));
        }
        current = error.source();
    }
    if error.is_connect() {
        let text = chain_text(error);
        return Failure::Unreachable(
            if text.contains("dns") || text.contains("lookup") || text.contains("resolve") {
                "no server answers at that name".to_owned()
            } else if text.contains("certificate") || text.contains("tls") {
                "its secure connection could not be established".to_owned()
            } else {
                "the connection failed".to_owned()
            },
        );
    }
    Failure::Unreachable("the connection failed".to_owned())
}

fn io_reason(error: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            "the connection was cut".to_owned()
        }
        ErrorKind::TimedOut => "the connection timed out".to_owned(),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => "the host is unreachable".to_owned(),
        ErrorKind::NotFound => "no server answers at that name".to_owned(),
        _ => {
            let text = error.to_string().to_lowercase();
            if text.contains("failed to lookup") || text.contains("name or service not known") {
                "no server answers at that name".to_owned()
            } else if text.contains("certificate") || text.contains("tls") {
                "its secure connection could not be established".to_owned()
            } else {
                "the connection failed".to_owned()
            }
        }
    }
}

/// The status of rmcp's `HTTP 404 Not Found: …` messages.
fn http_status(message: &str) -> Option<u16> {
    message.strip_prefix("HTTP ")?.get(..3)?.parse().ok()
}

fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut current = Some(error);
    while let Some(error) = current {
        text.push_str(&error.to_string().to_lowercase());
        text.push(' ');
        current = error.source();
    }
    text
}

/// A server's own words, kept short (the first line, at most 200 characters).
fn short(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim();
    let mut chars = line.chars();
    let mut short: String = chars.by_ref().take(200).collect();
    if chars.next().is_some() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_read_as_sentences_without_the_query() {
        let url = Url::parse("https://mcp.example.com/mcp?key=s3cret").unwrap();
        assert_eq!(
            Failure::Unreachable("connection refused".into()).for_user(&url),
            "Jarvis could not reach https://mcp.example.com/mcp: connection refused."
        );
        assert_eq!(
            Failure::Unauthorized(401).for_user(&url),
            "https://mcp.example.com/mcp answered 401 Unauthorized: check the token."
        );
        assert_eq!(
            Failure::NotMcp("it answered 404 Not Found".into()).for_user(&url),
            "https://mcp.example.com/mcp does not speak MCP (it answered 404 Not Found)."
        );
        assert_eq!(
            Failure::TimedOut(Duration::from_secs(60)).for_model("notes_server"),
            "The MCP server notes_server did not answer within 60 s."
        );
        for failure in [Failure::Status(503), Failure::Rejected("no".into()), Failure::Unauthorized(403)] {
            assert!(!failure.for_user(&url).contains("s3cret"));
        }
    }

    #[test]
    fn rmcp_status_messages_are_read() {
        assert_eq!(http_status("HTTP 401 Unauthorized: nope"), Some(401));
        assert_eq!(http_status("HTTP 404 Not Found: "), Some(404));
        assert_eq!(http_status("something else"), None);
        assert_eq!(short(&format!("{}\nsecond line", "x".repeat(300))), format!("{}…", "x".repeat(200)));
    }
}
