//! `verity serve`: the embedded node on an HTTP port.

use std::path::PathBuf;

use anyhow::{Context, Result};
use tracing::info;
use verity_node::Node;

use crate::args::ServeArgs;

/// Runs until SIGINT or SIGTERM, then drains requests and workers.
pub async fn run(args: ServeArgs) -> Result<()> {
    let data_dir = args
        .node
        .data_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from("verity-data"));
    let mut config = args.node.embedded_config(data_dir)?;
    config.role = args.role();
    config.attestation = args.attest.config(config.disputes.admin_token.clone());
    config.anchor = args.anchor.chain_anchor()?;
    config.settings.http = args.limits.config()?;
    if config.queue_policy.lease >= config.settings.round_timeout {
        // A crashed worker's task is taken over only when its lease runs out;
        // with the lease as long as the round, the round is decided (or fails)
        // before anyone else can work on it.
        tracing::warn!(
            lease = ?config.queue_policy.lease,
            round_timeout = ?config.settings.round_timeout,
            "VERITY_LEASE is not shorter than VERITY_ROUND_TIMEOUT: tasks of crashed workers \
             are reclaimed too late to count in their round"
        );
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("VERITY_ADDR (--addr): cannot listen on {}", args.addr))?;
    let node = Node::start_embedded(config.clone())
        .await
        .with_context(|| format!("starting with data in {}", config.data_dir.display()))?;
    let addr = listener.local_addr()?;
    info!(
        %addr,
        data_dir = %config.data_dir.display(),
        role = ?config.role,
        enclaves = config.enclaves,
        min_enclaves = config.settings.rule.min_enclaves(),
        threshold = config.settings.rule.threshold(),
        "Verity is running: open http://{addr}/"
    );
    #[cfg(unix)]
    tokio::spawn(reload_on_sighup(node.state.attest.clone()));
    let token = node.shutdown_token();
    tokio::spawn(async move {
        wait_for_signal().await;
        info!("shutting down: draining requests and in-flight tasks");
        token.cancel();
    });
    node.serve(listener).await?;
    node.shutdown().await;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Re-reads the PCR allow-list on every SIGHUP (revoking enclaves it no longer allows).
#[cfg(unix)]
async fn reload_on_sighup(attest: std::sync::Arc<verity_node::AttestationService>) {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!(
            "cannot install the SIGHUP handler: reload with POST /api/admin/attestation/reload"
        );
        return;
    };
    while hup.recv().await.is_some() {
        match attest.reload().await {
            Ok(outcome) => info!(
                revoked = outcome.revoked.len(),
                "SIGHUP: PCR allow-list reloaded"
            ),
            Err(e) => tracing::warn!(error = %e.message, "SIGHUP: PCR allow-list not reloaded"),
        }
    }
}
