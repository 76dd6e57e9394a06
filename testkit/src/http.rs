//! Just enough HTTP/1.1 for the fakes: read one request, write a response whole or chunked, and
//! POST a body to an `http://` URL (for fakes that call back, like Stripe's webhooks). Public so
//! that a test can play the other peer (a webhook receiver) with the same few functions.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }
}

pub async fn read_request(stream: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Option<Request>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break end;
        }
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let path = request_line.next().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    Ok(Some(Request { method, path, headers, body }))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        303 => "See Other",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        529 => "Site Overloaded",
        _ => "Status",
    }
}

/// A message's head: its first lines (each ending in CRLF), then `headers`, then the blank line.
fn head(start: String, headers: &[(String, String)]) -> String {
    let mut head = start;
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Writes a whole message (request or response) with a `content-length` body.
async fn write_message(
    stream: &mut (impl AsyncWrite + Unpin),
    start: String,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let start = format!("{start}content-length: {}\r\nconnection: close\r\n", body.len());
    stream.write_all(head(start, headers).as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await
}

pub async fn write_whole(
    stream: &mut (impl AsyncWrite + Unpin),
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    write_message(stream, format!("HTTP/1.1 {status} {}\r\n", reason(status)), headers, body).await
}

pub async fn write_chunked_head(
    stream: &mut (impl AsyncWrite + Unpin),
    status: u16,
    headers: &[(String, String)],
) -> std::io::Result<()> {
    let start = format!(
        "HTTP/1.1 {status} {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n",
        reason(status)
    );
    stream.write_all(head(start, headers).as_bytes()).await?;
    stream.flush().await
}

pub async fn write_chunk(stream: &mut (impl AsyncWrite + Unpin), bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() {
        return Ok(());
    }
    stream.write_all(format!("{:x}\r\n", bytes.len()).as_bytes()).await?;
    stream.write_all(bytes).await?;
    stream.write_all(b"\r\n").await?;
    stream.flush().await
}

pub async fn finish_chunked(stream: &mut (impl AsyncWrite + Unpin)) -> std::io::Result<()> {
    stream.write_all(b"0\r\n\r\n").await?;
    stream.flush().await
}

/// POSTs `body` to an `http://host:port/path` URL with `headers` (plus `host`, `content-length`
/// and `connection: close`) and returns the response's status code, after reading the rest of
/// the response (for at most a few seconds). Gives up after `timeout` if no status line came.
pub async fn post(
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<u16> {
    let invalid = |message: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_owned());
    let rest = url.strip_prefix("http://").ok_or_else(|| invalid("only http:// URLs are supported"))?;
    let (authority, path) = rest.find('/').map_or((rest, "/"), |slash| (&rest[..slash], &rest[slash..]));
    let address = if authority.rsplit_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()) {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        write_message(&mut stream, format!("POST {path} HTTP/1.1\r\nhost: {authority}\r\n"), headers, body)
            .await?;
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let line_end = loop {
            if let Some(end) = buffer.windows(2).position(|window| window == b"\r\n") {
                break end;
            }
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the connection closed before a status line",
                ));
            }
            buffer.extend_from_slice(&chunk[..read]);
        };
        let status_line = String::from_utf8_lossy(&buffer[..line_end]).into_owned();
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| invalid(&format!("not an HTTP status line: {status_line}")))?;
        Ok((status, stream))
    };
    let (status, mut stream) = tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no response in time"))??;
    // The rest of the response is not needed, but reading it lets the peer finish cleanly.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let mut sink = [0u8; 4096];
        while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
    })
    .await;
    Ok(status)
}
