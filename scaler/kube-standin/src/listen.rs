//! The stand-in on a loopback TCP port (plain HTTP/1.1 and h2c), so that a `prescale run`
//! *process* with a kubeconfig pointing at it talks to the same state the test reads. Each
//! request's body is read whole before it reaches the state (Kubernetes request bodies are
//! small); answers — watch streams included — are streamed as the in-process service makes them.

use crate::ApiServer;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use tower::ServiceExt;

/// Writes `dir/kubeconfig` pointing at the stand-in at `server` (`http://host:port`, see
/// [`ApiServer::listen`]) with a bearer token, for a `prescale run` process; returns its path.
pub fn kubeconfig(server: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    \
             cluster: c\n    user: u\ncurrent-context: x\n"
        ),
    )
    .expect("kubeconfig written");
    path
}

impl ApiServer {
    /// Serves this API server on `127.0.0.1:<free port>` until the runtime ends; returns the
    /// address (`http://{addr}` is the kubeconfig's `server`).
    pub async fn listen(&self) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let api = self.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = api.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(
                        move |req: http::Request<hyper::body::Incoming>| {
                            let api = api.clone();
                            async move {
                                let (parts, body) = req.into_parts();
                                let bytes = body.collect().await?.to_bytes();
                                let req = http::Request::from_parts(
                                    parts,
                                    kube::client::Body::from(bytes.to_vec()),
                                );
                                let answer = api.service().oneshot(req).await;
                                Ok::<_, hyper::Error>(answer.unwrap_or_else(|never| match never {}))
                            }
                        },
                    );
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(addr)
    }
}
