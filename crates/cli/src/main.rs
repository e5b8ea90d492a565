//! `verity`: run the service (embedded, or API plus worker processes), check
//! images in-process, submit to a server, list oracles, dispute verdicts. Thin wiring over the library crates.

mod anchor_args;
mod args;
mod attest_args;
mod check;
mod client;
mod dispute;
mod eval;
mod index;
mod ledger_args;
mod limit_args;
mod nsm;
mod secret_arg;
mod serve;
mod verify;
mod worker;

use anyhow::Result;
use clap::Parser;

use crate::args::{Cli, Command};

fn main() -> Result<()> {
    let cli = Cli::parse();
    args::init_tracing(&cli.log_format, cli.command.is_quiet());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve::run(*a).await,
            Command::Worker(a) => worker::run(a).await,
            Command::Check(a) => check::run(a).await,
            Command::Submit(a) => client::submit(a).await,
            Command::Oracles(a) => client::oracles(a).await,
            Command::Verify(a) => {
                if verify::run(&a)? {
                    Ok(())
                } else {
                    std::process::exit(1)
                }
            }
            Command::Dispute(a) => dispute::run(a).await,
            Command::Index(a) => index::run(a),
            Command::Eval(a) => tokio::task::spawn_blocking(move || eval::run(a)).await?,
        }
    })
}
