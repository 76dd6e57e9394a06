use futures::{SinkExt, StreamExt};
use jarvis_types::protocol::{ErrorCode, PROTOCOL_VERSION, ServerMessage};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest, http::HeaderValue};

use crate::helpers::{Client, TestApp, spawn_app};

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(
    app: &TestApp,
    client: Option<&Client>,
    origin: Option<&str>,
) -> Result<Socket, tungstenite::Error> {
    let mut request = app.ws_url().into_client_request().unwrap();
    if let Some(origin) = origin {
        request.headers_mut().insert("origin", HeaderValue::from_str(origin).unwrap());
    }
    if let Some(client) = client {
        let access = client.cookie("jarvis_access").expect("the client is signed in");
        request
            .headers_mut()
            .insert("cookie", HeaderValue::from_str(&format!("jarvis_access={access}")).unwrap());
    }
    tokio_tungstenite::connect_async(request).await.map(|(socket, _)| socket)
}

async fn next_message(socket: &mut Socket) -> ServerMessage {
    loop {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
            .await
            .expect("a frame within 5 s")
            .expect("the socket is open")
            .expect("a valid frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).expect("a protocol message"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_ping_over_a_real_socket_gets_its_pong() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = connect(&app, Some(&client), Some(&app.address)).await.unwrap();

    assert_eq!(next_message(&mut socket).await, ServerMessage::Hello { protocol_version: PROTOCOL_VERSION });
    socket.send(Message::text(r#"{"type":"ping","nonce":7}"#)).await.unwrap();
    assert_eq!(next_message(&mut socket).await, ServerMessage::Pong { nonce: 7 });
    socket.send(Message::text(r#"{"type":"ping","nonce":8}"#)).await.unwrap();
    assert_eq!(next_message(&mut socket).await, ServerMessage::Pong { nonce: 8 });

    socket.close(None).await.unwrap();
    app.stop().await;
}

#[tokio::test]
async fn a_bad_frame_gets_an_error_and_the_socket_stays_usable() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = connect(&app, Some(&client), None).await.unwrap();
    next_message(&mut socket).await;

    socket.send(Message::text("hello?")).await.unwrap();
    let reply = next_message(&mut socket).await;
    assert!(matches!(reply, ServerMessage::Error { code: ErrorCode::BadMessage, .. }), "{reply:?}");

    socket.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    let reply = next_message(&mut socket).await;
    assert!(matches!(reply, ServerMessage::Error { code: ErrorCode::BadMessage, .. }), "{reply:?}");

    socket.send(Message::text(r#"{"type":"ping","nonce":1}"#)).await.unwrap();
    assert_eq!(next_message(&mut socket).await, ServerMessage::Pong { nonce: 1 });
    app.stop().await;
}

#[tokio::test]
async fn an_upgrade_from_a_foreign_origin_is_refused_with_403() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;

    let error = connect(&app, Some(&client), Some("https://evil.example")).await.err().expect("refused");

    match error {
        tungstenite::Error::Http(response) => assert_eq!(response.status(), 403),
        other => panic!("expected an HTTP 403, got {other:?}"),
    }
    app.stop().await;
}

#[tokio::test]
async fn open_sockets_are_closed_with_service_restart_when_the_server_stops() {
    let app = spawn_app().await;
    let (client, _) = app.signed_in_client().await;
    let mut socket = connect(&app, Some(&client), None).await.unwrap();
    next_message(&mut socket).await;

    let stopping = tokio::spawn(app.stop());

    let frame = tokio::time::timeout(std::time::Duration::from_secs(5), socket.next())
        .await
        .expect("a close frame within 5 s")
        .expect("a frame")
        .expect("a valid frame");
    match frame {
        Message::Close(Some(close)) => {
            assert_eq!(u16::from(close.code), 1012);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    drop(socket);
    stopping.await.unwrap();
}

#[tokio::test]
async fn an_upgrade_without_a_session_is_refused_with_401() {
    let app = spawn_app().await;

    let error = connect(&app, None, Some(&app.address)).await.err().expect("refused");

    match error {
        tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected an HTTP 401, got {other:?}"),
    }
    app.stop().await;
}
