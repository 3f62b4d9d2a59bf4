//! The HTTPS accept loop: TLS with the current config per handshake, HTTP/1.1 or h2 by ALPN,
//! and the verified client certificate's identity attached to every request of the connection.
//! Request heads are bounded here, by hyper: see [`crate::limits::MAX_HEADER_BYTES`].

use crate::limits::{MAX_HEADER_BYTES, MAX_HEADERS};
use crate::tls::TlsState;
use axum::Router;
use hyper::server::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Who is on the other end of the TLS connection, as proven by a client certificate that
/// verified against the front-proxy CA. `None` fields mean no (trusted) certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The subject common name of the verified client certificate.
    pub common_name: Option<String>,
}

impl PeerIdentity {
    /// The identity of a connection: the leaf's common name, only if the chain verifies.
    fn of(tls: &TlsState, certs: Option<&[rustls::pki_types::CertificateDer<'_>]>) -> Self {
        let verified = certs.filter(|c| tls.verify_client(c));
        let cn = verified.and_then(|c| c.first()).and_then(|leaf| {
            let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
            cert.subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_string)
        });
        Self { common_name: cn }
    }
}

/// Serves `app` over HTTPS on `listener` until `shutdown` resolves; open connections finish.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<TlsState>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    let http = Arc::new(Http::new());
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let tls = tls.clone();
        let app = app.clone();
        let http = http.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, remote, tls, app, &http).await {
                tracing::debug!(%remote, error = %e, "connection ended with an error");
            }
        });
    }
}

async fn handle(
    stream: tokio::net::TcpStream,
    _remote: SocketAddr,
    state: Arc<TlsState>,
    app: Router,
    http: &Http,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let acceptor = tokio_rustls::TlsAcceptor::from(state.current());
    let tls =
        tokio::time::timeout(std::time::Duration::from_secs(10), acceptor.accept(stream)).await??;
    let peer = PeerIdentity::of(&state, tls.get_ref().1.peer_certificates());
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(peer.clone());
            let app = app.clone();
            async move { app.oneshot(req.map(axum::body::Body::new)).await }
        });
    let io = TokioIo::new(tls);
    if h2 {
        http.h2.serve_connection(io, service).await?;
    } else {
        http.h1.serve_connection(io, service).await?;
    }
    Ok(())
}

/// HTTP/1.1 and h2 (chosen by ALPN) with bounded request heads: hyper answers a larger h1
/// head with 431 and closes the connection, and refuses a larger h2 header list, never
/// buffering more than twice the limit; an h1 head must arrive within 10 s.
struct Http {
    h1: http1::Builder,
    h2: http2::Builder<TokioExecutor>,
}

impl Http {
    fn new() -> Self {
        let mut h1 = http1::Builder::new();
        h1.max_header_size(MAX_HEADER_BYTES)
            .max_buf_size(2 * MAX_HEADER_BYTES)
            .max_headers(MAX_HEADERS)
            .timer(TokioTimer::new())
            .header_read_timeout(std::time::Duration::from_secs(10));
        let mut h2 = http2::Builder::new(TokioExecutor::new());
        h2.max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
        Self { h1, h2 }
    }
}
