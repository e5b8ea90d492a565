//! `verity verify RECEIPT`: every check of a receipt, offline, printed one
//! per line; exits non-zero at the first failure, naming it.

use std::io::Read;

use anyhow::{Context, Result, anyhow};
use verity_core::Sha256Digest;
use verity_crypto::PcrPolicy;
use verity_receipt::{Receipt, VerifyOptions, verify_receipt};
use verity_tlog::note::NoteVerifier;

use crate::ledger_args::VerifyArgs;

/// Runs the checks; `Ok(true)` when every one passed.
///
/// # Errors
/// Unreadable inputs (the receipt, the image, a malformed key).
pub fn run(args: &VerifyArgs) -> Result<bool> {
    let text = if args.receipt.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        s
    } else {
        std::fs::read_to_string(&args.receipt)
            .with_context(|| format!("reading {}", args.receipt.display()))?
    };
    let receipt: Receipt = match serde_json::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            println!("FAIL  format: not a receipt: {e}");
            return Ok(false);
        }
    };
    let log_key = args
        .log_key
        .as_deref()
        .map(|k| {
            let k = match std::fs::read_to_string(k) {
                Ok(file) => file,
                Err(_) => k.to_owned(),
            };
            NoteVerifier::parse(&k).map_err(|e| anyhow!("--log-key: {e}"))
        })
        .transpose()?;
    let aggregator_key = args
        .aggregator_key
        .as_deref()
        .map(|k| {
            hex::decode(k.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| anyhow!("--aggregator-key: not 32 bytes of hex"))
        })
        .transpose()?;
    let image_sha256 = args
        .image
        .as_ref()
        .map(|p| {
            std::fs::read(p)
                .map(|bytes| Sha256Digest::of(&bytes))
                .with_context(|| format!("reading {}", p.display()))
        })
        .transpose()?;
    let nitro_pcrs = args
        .nitro_pcrs
        .as_ref()
        .map(|p| {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("--nitro-pcrs: reading {}", p.display()))?;
            serde_json::from_str::<PcrPolicy>(&text)
                .with_context(|| format!("--nitro-pcrs: {} is not a PCR allow-list", p.display()))
        })
        .transpose()?;
    let options = VerifyOptions {
        log_key,
        aggregator_key,
        image_sha256,
        nitro_pcrs,
        nitro_root: None,
    };
    println!(
        "receipt {} for job {} (round {})",
        receipt.version, receipt.job_id, receipt.final_report.round
    );
    let result = verify_receipt(&receipt, &options, |check| {
        println!("ok    {}: {}", check.name, check.detail);
    });
    match result {
        Ok(_) => {
            if options.image_sha256.is_none() {
                println!("skip  image: no --image given");
            }
            println!(
                "VERIFIED: {} ({:.4} agreement, threshold met: {})",
                receipt.final_report.verdict,
                receipt.final_report.consensus_metadata.agreement_rate,
                receipt.final_report.consensus_metadata.threshold_met
            );
            Ok(true)
        }
        Err(e) => {
            println!("FAIL  {}: {}", e.check, e.reason);
            Ok(false)
        }
    }
}
