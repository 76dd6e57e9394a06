//! The fakes' HTTP, on axum (hyper underneath: keep-alive, chunked request bodies, HTTP/1.1 and
//! h2c): [`serve`] answers every request on a listener with one handler, which sees a plain
//! [`Request`] (its body read whole) and gives back a [`Response`], whole or streamed chunk by
//! chunk through a [`ChunkSender`] (each chunk flushed as it is sent, so a test controls the
//! chunk boundaries and the pauses between them). [`post`] is the client side, for fakes that
//! call back (Stripe's webhooks).

use std::future::Future;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// A request as a fake sees it.
pub struct Request {
    pub method: String,
    /// With the query string, if any.
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

/// A chunk of a streamed body, or the error that drops the connection mid-body.
type Chunk = Result<Bytes, std::io::Error>;

enum Content {
    Whole(Vec<u8>),
    Streamed(mpsc::Receiver<Chunk>),
}

/// A fake's answer: a status, headers and a body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    content: Content,
}

impl Response {
    /// A response with its whole body (sent with a `content-length`).
    pub fn whole(status: u16, headers: Vec<(String, String)>, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers, content: Content::Whole(body.into()) }
    }

    /// A response whose body is sent chunk by chunk (`transfer-encoding: chunked` in HTTP/1.1) as
    /// the [`ChunkSender`] sends them; the body ends when the sender is dropped.
    pub fn streamed(status: u16, headers: Vec<(String, String)>) -> (Self, ChunkSender) {
        let (sender, receiver) = mpsc::channel(1);
        (Self { status, headers, content: Content::Streamed(receiver) }, ChunkSender(sender))
    }

    /// The whole body, or `None` for a streamed one.
    pub fn body(&self) -> Option<&[u8]> {
        match &self.content {
            Content::Whole(body) => Some(body),
            Content::Streamed(_) => None,
        }
    }

    fn into_axum(self) -> axum::response::Response {
        let body = match self.content {
            Content::Whole(body) => Body::from(body),
            Content::Streamed(receiver) => {
                Body::from_stream(futures::stream::unfold(receiver, |mut receiver| async move {
                    receiver.recv().await.map(|chunk| (chunk, receiver))
                }))
            }
        };
        let mut response = axum::response::Response::new(body);
        *response.status_mut() = axum::http::StatusCode::from_u16(self.status)
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) =
                (axum::http::HeaderName::try_from(name), axum::http::HeaderValue::try_from(value))
            {
                response.headers_mut().append(name, value);
            }
        }
        response
    }
}

/// Writes a streamed [`Response`]'s body.
pub struct ChunkSender(mpsc::Sender<Chunk>);

impl ChunkSender {
    /// Sends one chunk (nothing for an empty one); an error once the client has gone.
    pub async fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.0
            .send(Ok(Bytes::copy_from_slice(bytes)))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client has gone"))
    }

    /// Drops the connection without ending the body, as a server that dies mid-response.
    pub async fn abort(self) {
        let _ = self.0.send(Err(std::io::Error::other("the fake dropped the connection"))).await;
    }
}

/// Answers every request on `listener` with `handler` until the future is dropped (its task
/// aborted): then the listener closes and idle kept-alive connections are closed too, so a client
/// finds the fake gone; a response still streaming goes on until it ends. Sockets are set
/// `TCP_NODELAY`, so a chunk leaves as soon as it is sent.
pub async fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let router = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let handler = handler.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body =
                axum::body::to_bytes(body, usize::MAX).await.map(|bytes| bytes.to_vec()).unwrap_or_default();
            let headers = parts
                .headers
                .iter()
                .map(|(name, value)| {
                    (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned())
                })
                .collect();
            let path =
                parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), ToString::to_string);
            let request = Request { method: parts.method.as_str().to_owned(), path, headers, body };
            handler(request).await.into_axum()
        }
    });
    let listener = listener.tap_io(|stream| {
        let _ = stream.set_nodelay(true);
    });
    let _ = axum::serve(listener, router).await;
}

/// POSTs `body` to an `http://` URL with `headers` and returns the response's status code, after
/// reading the rest of the response (for at most a few seconds). Gives up after `timeout` if no
/// response came.
pub async fn post(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<u16> {
    if !url.starts_with("http://") {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "only http:// URLs are supported"));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(std::io::Error::other)?;
    let mut request = client.post(url).body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = tokio::time::timeout(timeout, request.send())
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response in time"))?
        .map_err(std::io::Error::other)?;
    let status = response.status().as_u16();
    // The rest of the response is not needed, but reading it lets the peer finish cleanly.
    let _ = tokio::time::timeout(Duration::from_secs(2), response.bytes()).await;
    Ok(status)
}
