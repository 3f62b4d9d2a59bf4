//! A TCP fault proxy: listens on a free loopback port, forwards to a real server, and injects
//! faults switched at run time ([`FaultProxy::set`]).
//!
//! It runs on its own thread with its own Tokio runtime, so blocking test helpers (`redis-cli`,
//! `http_get`) never stall it, and dropping the [`FaultProxy`] guard always stops it: the
//! listener and every connection it holds are closed before `drop` returns.
//!
//! What each [`Fault`] does to new connections, and to those already open when it is set:
//!
//! | fault | new connections | open connections |
//! |---|---|---|
//! | `Pass` | forwarded | forwarded (ones that lost bytes to a blackhole are reset) |
//! | `Delay(d)` | connect to the server after `d`, then every chunk waits `d` | every chunk waits `d` |
//! | `Drop` | accepted and closed at once (FIN) | closed (FIN) |
//! | `Reset` | accepted and reset (`SO_LINGER` 0, then close: RST) | reset |
//! | `Blackhole` | accepted, read, never answered | bytes are read and discarded both ways |
//! | `Html`, `StringForNumber`, `HugeBody` | the proxy answers the first HTTP request itself, then closes | closed, so clients reconnect and meet the fault |
//! | `Junk(bytes)` | the proxy writes `bytes` at once (before the client speaks), then reads and discards | closed |
//!
//! If the real server is down, a forwarded connection is reset, as a refused connect would be
//! seen by the client.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The fault in force. Switching it takes effect at once (see the module table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward both ways.
    Pass,
    /// Slow server: each new connection and each chunk (either way) waits this long.
    Delay(Duration),
    /// Close connections at once (FIN).
    Drop,
    /// Reset connections (RST).
    Reset,
    /// Accept and read, never answer.
    Blackhole,
    /// HTTP: `200 OK` with an HTML error page instead of JSON.
    Html,
    /// HTTP: `200 OK` with a Prometheus vector whose value is a string that is not a number.
    StringForNumber,
    /// HTTP: `200 OK` with `bytes` of JSON-looking filler; `content_length` says whether the
    /// length is announced (otherwise the body ends when the proxy closes).
    HugeBody { bytes: u64, content_length: bool },
    /// Any protocol: these bytes are written as soon as a connection is accepted.
    Junk(Vec<u8>),
}

impl Fault {
    fn answers_http(&self) -> bool {
        matches!(
            self,
            Fault::Html | Fault::StringForNumber | Fault::HugeBody { .. }
        )
    }
}

struct Shared {
    mode: watch::Sender<Fault>,
    upstream_port: std::sync::atomic::AtomicU16,
    accepted: AtomicU64,
    http_body_bytes_written: AtomicU64,
}

/// A running proxy; stopped (with all its connections) when dropped.
pub struct FaultProxy {
    /// The port clients connect to (127.0.0.1).
    pub port: u16,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy in front of `127.0.0.1:upstream_port`, passing traffic.
    pub fn start(upstream_port: u16) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let port = listener.local_addr().expect("proxy address").port();
        let (mode, _) = watch::channel(Fault::Pass);
        let shared = Arc::new(Shared {
            mode,
            upstream_port: std::sync::atomic::AtomicU16::new(upstream_port),
            accepted: AtomicU64::new(0),
            http_body_bytes_written: AtomicU64::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("fault-proxy-{port}"))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("fault proxy runtime");
                rt.block_on(async move {
                    let listener = TcpListener::from_std(listener).expect("tokio listener");
                    tokio::pin!(stopped);
                    loop {
                        tokio::select! {
                            _ = &mut stopped => break,
                            r = listener.accept() => {
                                if let Ok((conn, _)) = r {
                                    s.accepted.fetch_add(1, Ordering::SeqCst);
                                    tokio::spawn(serve(conn, s.clone()));
                                }
                            }
                        }
                    }
                });
                // dropping the runtime drops every connection task and its sockets
                drop(rt);
            })
            .expect("spawn the fault proxy thread");
        Self {
            port,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Switches the fault in force.
    pub fn set(&self, fault: Fault) {
        self.shared.mode.send_replace(fault);
    }

    /// The fault in force.
    pub fn fault(&self) -> Fault {
        self.shared.mode.borrow().clone()
    }

    /// Forwards new connections to `127.0.0.1:port` from now on (a server started again on
    /// another port).
    pub fn set_upstream(&self, port: u16) {
        self.shared.upstream_port.store(port, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Body bytes of proxy-served HTTP answers that the client's socket took (the kernel's
    /// buffers included): shows how much of a huge body a client read before giving up.
    pub fn http_body_bytes_written(&self) -> u64 {
        self.shared.http_body_bytes_written.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn reset(conn: TcpStream) {
    let _ = conn.set_zero_linger();
    drop(conn);
}

async fn serve(client: TcpStream, shared: Arc<Shared>) {
    let mut rx = shared.mode.subscribe();
    let mode = rx.borrow_and_update().clone();
    match mode {
        Fault::Drop => return,
        Fault::Reset => return reset(client),
        Fault::Blackhole => return blackhole(client, rx).await,
        Fault::Junk(bytes) => return junk(client, &bytes, rx).await,
        m if m.answers_http() => return http_answer(client, m, &shared).await,
        Fault::Delay(d) => tokio::time::sleep(d).await,
        _ => {}
    }
    let upstream_addr =
        SocketAddr::from(([127, 0, 0, 1], shared.upstream_port.load(Ordering::SeqCst)));
    let upstream = match TcpStream::connect(upstream_addr).await {
        Ok(u) => u,
        Err(_) => return reset(client),
    };
    relay(client, upstream, rx).await;
}

/// Reads and discards until the client goes or the fault changes (then resets: the bytes the
/// client sent are lost, so the connection cannot be resumed).
async fn blackhole(mut client: TcpStream, mut rx: watch::Receiver<Fault>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            r = client.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return },
            c = rx.changed() => if c.is_err() || *rx.borrow_and_update() != Fault::Blackhole {
                return reset(client);
            },
        }
    }
}

async fn junk(mut client: TcpStream, bytes: &[u8], mut rx: watch::Receiver<Fault>) {
    if client.write_all(bytes).await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            r = client.read(&mut buf) => if matches!(r, Ok(0) | Err(_)) { return },
            c = rx.changed() => if c.is_err() { return } else { return reset(client) },
        }
    }
}

/// Reads one request head (at most 64 KiB, 5 s), answers it per `mode`, closes.
async fn http_answer(mut client: TcpStream, mode: Fault, shared: &Shared) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let read_head = async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match client.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        true
    };
    if !matches!(
        tokio::time::timeout(Duration::from_secs(5), read_head).await,
        Ok(true)
    ) {
        return;
    }
    let (content_type, body): (&str, Vec<u8>) = match &mode {
        Fault::Html => (
            "text/html",
            b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>".to_vec(),
        ),
        Fault::StringForNumber => (
            "application/json",
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"twelve"]}]}}"#.to_vec(),
        ),
        _ => ("application/json", Vec::new()),
    };
    if let Fault::HugeBody {
        bytes,
        content_length,
    } = mode
    {
        let mut head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            .to_string();
        if content_length {
            head.push_str(&format!("Content-Length: {bytes}\r\n"));
        }
        head.push_str("\r\n");
        if client.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        // a JSON array that never ends within the body: `[0,0,0,…`
        let mut chunk = vec![b','; 64 * 1024];
        for (i, b) in chunk.iter_mut().enumerate() {
            if i % 2 == 1 {
                *b = b'0';
            }
        }
        let mut left = bytes;
        let mut first = true;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            if first {
                chunk[0] = b'[';
                first = false;
            } else {
                chunk[0] = b',';
            }
            if client.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            shared
                .http_body_bytes_written
                .fetch_add(n as u64, Ordering::SeqCst);
            left -= n as u64;
        }
    } else {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        if client.write_all(answer.as_bytes()).await.is_err()
            || client.write_all(&body).await.is_err()
        {
            return;
        }
        shared
            .http_body_bytes_written
            .fetch_add(body.len() as u64, Ordering::SeqCst);
    }
    let _ = client.shutdown().await;
    // let the client read to the end before the socket goes
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while matches!(client.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

enum Step {
    Go,
    Fin,
    Rst,
}

/// What a change of fault does to an open, forwarded connection.
fn on_change(mode: &Fault, lost_bytes: bool) -> Step {
    match mode {
        Fault::Pass | Fault::Delay(_) if lost_bytes => Step::Rst,
        Fault::Pass | Fault::Delay(_) | Fault::Blackhole => Step::Go,
        Fault::Reset => Step::Rst,
        _ => Step::Fin,
    }
}

/// Forwards `data` to `to` under the fault in force; false when `to` is gone.
async fn forward(
    to: &mut TcpStream,
    data: &[u8],
    rx: &watch::Receiver<Fault>,
    lost_bytes: &mut bool,
) -> bool {
    let mode = rx.borrow().clone();
    match mode {
        Fault::Pass => {}
        Fault::Delay(d) => tokio::time::sleep(d).await,
        _ => {
            *lost_bytes = true;
            return true;
        }
    }
    to.write_all(data).await.is_ok()
}

async fn relay(mut client: TcpStream, mut upstream: TcpStream, mut rx: watch::Receiver<Fault>) {
    let mut a = vec![0u8; 16 * 1024];
    let mut b = vec![0u8; 16 * 1024];
    let (mut client_open, mut upstream_open) = (true, true);
    let mut lost = false;
    while client_open || upstream_open {
        tokio::select! {
            r = client.read(&mut a), if client_open => match r {
                Ok(0) => {
                    client_open = false;
                    let _ = upstream.shutdown().await;
                }
                Ok(n) => if !forward(&mut upstream, &a[..n], &rx, &mut lost).await {
                    return reset(client);
                },
                Err(_) => return reset(upstream),
            },
            r = upstream.read(&mut b), if upstream_open => match r {
                Ok(0) => {
                    upstream_open = false;
                    let _ = client.shutdown().await;
                }
                Ok(n) => if !forward(&mut client, &b[..n], &rx, &mut lost).await {
                    return reset(upstream);
                },
                // the server reset us: pass the reset on
                Err(_) => return reset(client),
            },
            c = rx.changed() => {
                if c.is_err() {
                    return;
                }
                let mode = rx.borrow_and_update().clone();
                match on_change(&mode, lost) {
                    Step::Go => {}
                    Step::Fin => return,
                    Step::Rst => {
                        reset(upstream);
                        return reset(client);
                    }
                }
            }
        }
    }
}
