//! The fakes' HTTP server: chunked request bodies and several requests on one kept-alive
//! connection, streamed bodies whose chunks reach the client one at a time as they are sent, and
//! a stream dropped mid-body.

use std::time::Duration;

use jarvis_testkit::http::{self, Request, Response};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// Starts `handler` on a free port; its address.
async fn start<H, F>(handler: H) -> String
where
    H: Fn(Request) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("an address").to_string();
    tokio::spawn(http::serve(listener, handler));
    address
}

#[tokio::test]
async fn chunked_request_bodies_arrive_whole_and_connections_are_kept_alive() {
    let address = start(|request: Request| async move {
        let text = format!("{} {} {}", request.method, request.path, String::from_utf8_lossy(&request.body));
        Response::whole(200, vec![("content-type".into(), "text/plain".into())], text)
    })
    .await;
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    let requests = "POST /echo?x=1 HTTP/1.1\r\nhost: fake\r\ntransfer-encoding: chunked\r\n\r\n\
                    5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n\
                    POST /again HTTP/1.1\r\nhost: fake\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc";
    stream.write_all(requests.as_bytes()).await.expect("write");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
        .await
        .expect("the server closes after the second answer")
        .expect("read");
    assert_eq!(answer.matches("HTTP/1.1 200 OK").count(), 2, "{answer}");
    assert!(answer.contains("POST /echo?x=1 hello world"), "{answer}");
    assert!(answer.contains("POST /again abc"), "{answer}");
}

#[tokio::test]
async fn a_streamed_body_reaches_the_client_chunk_by_chunk() {
    // Each chunk is sent only once the client has read the one before: a buffered body would
    // never arrive, and the test would time out.
    let (read_tx, read_rx) = mpsc::unbounded_channel::<()>();
    let read_rx = std::sync::Arc::new(tokio::sync::Mutex::new(read_rx));
    let address = start(move |_request: Request| {
        let read_rx = std::sync::Arc::clone(&read_rx);
        async move {
            let (response, sender) =
                Response::streamed(200, vec![("content-type".into(), "text/plain".into())]);
            tokio::spawn(async move {
                let mut read = read_rx.lock().await;
                for chunk in ["one ", "two ", "three"] {
                    sender.send(chunk.as_bytes()).await.expect("the client is there");
                    read.recv().await;
                }
            });
            response
        }
    })
    .await;
    let mut response = reqwest::get(format!("http://{address}/stream")).await.expect("an answer");
    assert_eq!(response.status(), 200);
    let mut body = String::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
            .await
            .expect("each chunk arrives as it is sent")
            .expect("a chunk");
        let Some(chunk) = chunk else { break };
        body.push_str(&String::from_utf8_lossy(&chunk));
        let _ = read_tx.send(());
    }
    assert_eq!(body, "one two three");
}

#[tokio::test]
async fn an_aborted_stream_drops_the_connection_mid_body() {
    let address = start(|_request: Request| async move {
        let (response, sender) = Response::streamed(200, Vec::new());
        tokio::spawn(async move {
            sender.send(b"partial").await.expect("the client is there");
            sender.abort().await;
        });
        response
    })
    .await;
    let response = reqwest::get(format!("http://{address}/")).await.expect("an answer");
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err(), "the body does not end cleanly");
}

#[tokio::test]
async fn post_returns_the_status_of_the_peer() {
    let address = start(|request: Request| async move {
        let status = if request.header("x-fail").is_some() { 500 } else { 204 };
        Response::whole(status, Vec::new(), Vec::new())
    })
    .await;
    let url = format!("http://{address}/hook");
    let timeout = Duration::from_secs(5);
    assert_eq!(http::post(&url, &[], b"{}", timeout).await.expect("an answer"), 204);
    let failing = [("x-fail".to_owned(), "1".to_owned())];
    assert_eq!(http::post(&url, &failing, b"{}", timeout).await.expect("an answer"), 500);
    assert!(http::post("http://127.0.0.1:1/", &[], b"", timeout).await.is_err(), "nobody listens");
}
