//! `prescale run`'s sharding settings (`--shards` and what forwarding metric requests to the
//! holder of another shard needs).

use super::run::parse_duration;
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ShardingArgs {
    /// Spread ScaledObjects over this many shards (FNV-1a of namespace/name mod N), one Lease
    /// each (`prescale-shard-<i>`), shared out between the live replicas (each renews a
    /// presence Lease `prescale-replica-<identity>`): a replica reconciles, polls and writes
    /// only its shards' objects and forwards metric requests for the others to their holder.
    /// ScaledJobs and cluster-wide writes follow shard 0. 1 (default): one leader Lease
    /// (`--lease-name`), the others follow.
    #[arg(long, env = "PRESCALE_SHARDS", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    shards: u32,

    /// With `--shards`: where the other replicas reach this one's metrics API (`host:port`),
    /// written into the shard Leases it holds (default: `$POD_IP` and the metrics API port).
    #[arg(long, env = "PRESCALE_ADVERTISE_ADDRESS")]
    advertise_address: Option<String>,

    /// With `--shards`: client certificate (PEM) metric requests are forwarded to other
    /// replicas with; their metrics API must trust it (its request-header client CA).
    #[arg(
        long,
        env = "PRESCALE_FORWARD_CERT_FILE",
        requires = "forward_key_file"
    )]
    forward_cert_file: Option<std::path::PathBuf>,

    /// Private key (PEM) of `--forward-cert-file`.
    #[arg(
        long,
        env = "PRESCALE_FORWARD_KEY_FILE",
        requires = "forward_cert_file"
    )]
    forward_key_file: Option<std::path::PathBuf>,

    /// With `--shards`: how long a forwarded metric request may take (Go duration).
    #[arg(long, env = "PRESCALE_FORWARD_TIMEOUT", default_value = "3s", value_parser = parse_duration)]
    forward_timeout: Duration,
}

impl ShardingArgs {
    /// `--shards` and what forwarding needs.
    pub(super) fn sharding(
        &self,
        namespace: &str,
        metrics_api_addr: &str,
    ) -> anyhow::Result<crate::context::Sharding> {
        let advertise_address = self.advertise_address.clone().or_else(|| {
            let ip = std::env::var("POD_IP").ok().filter(|ip| !ip.is_empty())?;
            let port = metrics_api_addr.parse::<SocketAddr>().ok()?.port();
            Some(match ip.parse::<std::net::IpAddr>() {
                Ok(std::net::IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
                _ => format!("{ip}:{port}"),
            })
        });
        if self.shards > 1 && advertise_address.is_none() && !metrics_api_addr.is_empty() {
            tracing::warn!(
                "--shards {} without --advertise-address or POD_IP: other replicas cannot forward metric requests to this one",
                self.shards
            );
        }
        let forward_identity = match (&self.forward_cert_file, &self.forward_key_file) {
            (Some(cert), Some(key)) => {
                let read = |p: &std::path::Path| {
                    std::fs::read_to_string(p)
                        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))
                };
                Some(format!("{}\n{}", read(cert)?, read(key)?).into())
            }
            _ => None,
        };
        Ok(crate::context::Sharding {
            shards: self.shards,
            advertise_address,
            forward_identity,
            forward_user: format!(
                "system:serviceaccount:{}:{}",
                namespace,
                std::env::var("POD_SERVICE_ACCOUNT")
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "prescale-operator".into())
            ),
            forward_timeout: self.forward_timeout,
        })
    }
}
