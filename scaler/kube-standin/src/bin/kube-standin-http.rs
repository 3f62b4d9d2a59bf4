//! The API stand-in as a process: `kube-standin-http [ADDR]` (default `127.0.0.1:0`) prints
//! `listening on http://ADDR` and serves until killed. Used by `scripts/image.sh` to check that
//! the image's `prescale run` answers `/livez` and `/readyz` against an API server.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    prescale_kube_standin::tcp::serve(prescale_kube_standin::ApiServer::new(), listener).await;
    Ok(())
}
