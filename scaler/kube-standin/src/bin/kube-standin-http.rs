//! The API stand-in as a process: `kube-standin-http` serves an empty stand-in on a free
//! loopback port (`ApiServer::listen`), prints `listening on http://ADDR` and serves until
//! killed. `scripts/image.sh` runs the image's `prescale run` against it.

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let api = prescale_kube_standin::ApiServer::new();
    let addr = api.listen().await?;
    println!("listening on http://{addr}");
    std::future::pending::<()>().await;
    Ok(())
}
