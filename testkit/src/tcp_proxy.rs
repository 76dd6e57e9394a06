//! A TCP proxy for fault tests: put it between a server and its database (or any peer) and cut
//! the line, or let requests through while their answers are lost. Plain tokio; each accepted
//! connection gets its own connection to the target and bytes are relayed both ways.
//!
//! - [`TcpProxy::cut`] closes every open connection at once (both sides see the socket close)
//!   and, until [`TcpProxy::restore`], accepts new connections only to drop them: an outage.
//! - [`TcpProxy::swallow_replies`] keeps forwarding what clients send but throws away what the
//!   target answers: statements execute, and their acknowledgement never arrives (a lost COMMIT
//!   acknowledgement). The bytes thrown away are gone, so a connection's protocol is broken
//!   from then on; follow it with [`TcpProxy::cut`], as a real network failure would.
//! - [`TcpProxy::restore`] relays normally again (for new connections after a cut).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does with traffic right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Relay,
    SwallowReplies,
    Cut,
}

/// The running proxy. Dropping it stops it and closes every connection.
pub struct TcpProxy {
    addr: SocketAddr,
    target: SocketAddr,
    mode: watch::Sender<Mode>,
    open: Arc<AtomicUsize>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TcpProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpProxy")
            .field("addr", &self.addr)
            .field("target", &self.target)
            .field("mode", &*self.mode.borrow())
            .field("open", &self.open_connections())
            .finish()
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        // Relays also end when the sender goes; saying so first closes them without waiting.
        self.mode.send_replace(Mode::Cut);
    }
}

impl TcpProxy {
    /// Listens on a free port of 127.0.0.1 and relays every connection to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("a local address");
        let (mode, _) = watch::channel(Mode::Relay);
        let open = Arc::new(AtomicUsize::new(0));
        let acceptor = tokio::spawn(accept(listener, target, mode.subscribe(), Arc::clone(&open)));
        Self { addr, target, mode, open, acceptor }
    }

    /// Where clients connect instead of the target.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every open connection now and refuses (accepts and drops) new ones until
    /// [`restore`](Self::restore).
    pub fn cut(&self) {
        self.mode.send_replace(Mode::Cut);
    }

    /// Forwards what clients send, discards what the target answers.
    pub fn swallow_replies(&self) {
        self.mode.send_replace(Mode::SwallowReplies);
    }

    /// Relays normally again.
    pub fn restore(&self) {
        self.mode.send_replace(Mode::Relay);
    }

    /// Connections currently relayed (accepted, not yet closed).
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    mode: watch::Receiver<Mode>,
    open: Arc<AtomicUsize>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of file descriptors, say: try again shortly rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        if *mode.borrow() == Mode::Cut {
            drop(client);
            continue;
        }
        let mode = mode.clone();
        let open = Arc::clone(&open);
        open.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            relay(client, target, mode).await;
            open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Relays one connection until both sides are done or the line is cut. Returning drops both
/// sockets, which closes them.
async fn relay(client: TcpStream, target: SocketAddr, mut mode: watch::Receiver<Mode>) {
    let replies_mode = mode.clone();
    let work = async move {
        let Ok(server) = TcpStream::connect(target).await else { return };
        let _ = client.set_nodelay(true);
        let _ = server.set_nodelay(true);
        let (mut client_read, mut client_write) = client.into_split();
        let (mut server_read, mut server_write) = server.into_split();
        let requests = async {
            let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
            let _ = server_write.shutdown().await;
        };
        let replies = async {
            let mut buffer = vec![0_u8; 16 * 1024];
            loop {
                let read = match server_read.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => read,
                };
                if *replies_mode.borrow() == Mode::SwallowReplies {
                    continue;
                }
                if client_write.write_all(&buffer[..read]).await.is_err() {
                    break;
                }
            }
            let _ = client_write.shutdown().await;
        };
        tokio::join!(requests, replies);
    };
    tokio::select! {
        () = work => {}
        // A closed sender (the proxy dropped) counts as a cut.
        _ = mode.wait_for(|mode| *mode == Mode::Cut) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// Echoes every byte back, and counts the bytes it received.
    async fn echo_server() -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the echo server");
        let addr = listener.local_addr().expect("a local address");
        let received = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 1024];
                    loop {
                        match stream.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(read) => {
                                counter.fetch_add(read, Ordering::SeqCst);
                                if stream.write_all(&buffer[..read]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        (addr, received)
    }

    async fn round_trip(stream: &mut TcpStream, bytes: &[u8]) -> Vec<u8> {
        stream.write_all(bytes).await.expect("write through the proxy");
        let mut back = vec![0_u8; bytes.len()];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut back))
            .await
            .expect("the echo within 5 s")
            .expect("the echo");
        back
    }

    /// Whether the peer closed the connection (EOF or reset) within `within`.
    async fn closed(stream: &mut TcpStream, within: Duration) -> bool {
        let mut buffer = [0_u8; 64];
        match tokio::time::timeout(within, stream.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(_)) | Err(_) => false,
        }
    }

    async fn eventually(condition: impl Fn() -> bool) -> bool {
        for _ in 0..100 {
            if condition() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    #[tokio::test]
    async fn bytes_are_relayed_both_ways_on_every_connection() {
        let (echo, _) = echo_server().await;
        let proxy = TcpProxy::start(echo).await;
        let mut first = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        let mut second = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");

        assert_eq!(round_trip(&mut first, b"hello").await, b"hello");
        assert_eq!(round_trip(&mut second, b"world").await, b"world");
        let big: Vec<u8> = (0..200_000_u32).map(|n| (n % 251) as u8).collect();
        assert_eq!(round_trip(&mut first, &big).await, big);
        assert_eq!(proxy.open_connections(), 2);
    }

    #[tokio::test]
    async fn a_cut_closes_every_open_connection_and_refuses_new_ones_until_restored() {
        let (echo, _) = echo_server().await;
        let proxy = TcpProxy::start(echo).await;
        let mut first = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        let mut second = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        round_trip(&mut first, b"a").await;
        round_trip(&mut second, b"b").await;

        proxy.cut();

        assert!(closed(&mut first, Duration::from_secs(2)).await, "the first connection is closed");
        assert!(closed(&mut second, Duration::from_secs(2)).await, "the second connection is closed");
        assert!(eventually(|| proxy.open_connections() == 0).await);
        let mut refused = TcpStream::connect(proxy.addr()).await.expect("accepted, then dropped");
        assert!(closed(&mut refused, Duration::from_secs(2)).await, "a new connection is dropped");

        proxy.restore();

        let mut again = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        assert_eq!(round_trip(&mut again, b"back").await, b"back");
    }

    #[tokio::test]
    async fn swallowed_replies_never_arrive_though_the_requests_do_until_the_cut() {
        let (echo, received) = echo_server().await;
        let proxy = TcpProxy::start(echo).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        round_trip(&mut stream, b"before").await;

        proxy.swallow_replies();
        stream.write_all(b"COMMIT").await.expect("write through the proxy");

        assert!(
            eventually(|| received.load(Ordering::SeqCst) == b"before".len() + b"COMMIT".len()).await,
            "the request reaches the server"
        );
        let mut buffer = [0_u8; 64];
        let answer = tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await;
        assert!(answer.is_err(), "no answer arrives: {answer:?}");

        proxy.cut();
        assert!(closed(&mut stream, Duration::from_secs(2)).await, "then the cut closes it");
        proxy.restore();
        let mut fresh = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        assert_eq!(round_trip(&mut fresh, b"after").await, b"after");
    }

    #[tokio::test]
    async fn dropping_the_proxy_closes_its_connections() {
        let (echo, _) = echo_server().await;
        let proxy = TcpProxy::start(echo).await;
        let mut stream = TcpStream::connect(proxy.addr()).await.expect("connect to the proxy");
        round_trip(&mut stream, b"x").await;

        drop(proxy);

        assert!(closed(&mut stream, Duration::from_secs(2)).await);
    }
}
