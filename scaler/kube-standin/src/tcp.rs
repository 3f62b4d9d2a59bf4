//! The stand-in over plain HTTP on a TCP listener, for a process that cannot be handed a
//! `kube::Client` (e.g. `prescale run` inside the container image's root file system, checked
//! by `scripts/image.sh`): its kubeconfig points at `http://127.0.0.1:PORT`.

use crate::ApiServer;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use std::convert::Infallible;

/// Serves `api` on `listener` until the task is dropped (HTTP/1.1, one task per connection).
pub async fn serve(api: ApiServer, listener: tokio::net::TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                let mut inner = api.service();
                async move {
                    let (parts, body) = req.into_parts();
                    let bytes = body
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    let req = http::Request::from_parts(parts, kube::client::Body::from(bytes));
                    let res = tower::Service::call(&mut inner, req).await;
                    Ok::<_, Infallible>(res.unwrap_or_else(|never| match never {}))
                }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, svc)
                .await;
        });
    }
}
