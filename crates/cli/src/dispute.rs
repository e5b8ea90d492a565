//! `verity dispute`: challenge a verdict on a running server.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::args::DisputeCmdArgs;
use crate::client::{http, json_or_error};

/// Uploads the evidence (when a file is given), opens the dispute and,
/// with `--wait`, follows it to its outcome.
pub async fn run(args: DisputeCmdArgs) -> Result<()> {
    let server = args.server.trim_end_matches('/');
    let client = http()?;
    let evidence_cid = match (&args.evidence, &args.evidence_cid) {
        (Some(path), None) => {
            let bytes = tokio::fs::read(path)
                .await
                .with_context(|| format!("reading {}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let form = reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(bytes).file_name(name),
            );
            let stored = json_or_error(
                client
                    .post(format!("{server}/api/evidence"))
                    .multipart(form)
                    .send()
                    .await?,
            )
            .await?;
            let cid = stored["evidenceCID"]
                .as_str()
                .context("the server returned no evidenceCID")?
                .to_owned();
            if !args.json {
                eprintln!("evidence stored as {cid}");
            }
            cid
        }
        (None, Some(cid)) => cid.clone(),
        (Some(_), Some(_)) => bail!("give either --evidence FILE or --evidence-cid ID, not both"),
        (None, None) => bail!("evidence is required: --evidence FILE or --evidence-cid ID"),
    };
    let body = serde_json::json!({
        "jobId": args.job,
        "challengerAddress": args.challenger,
        "evidenceCID": evidence_cid,
        "reason": args.reason,
    });
    let accepted = json_or_error(
        client
            .post(format!("{server}/api/dispute"))
            .json(&body)
            .send()
            .await?,
    )
    .await?;
    if !args.wait {
        if args.json {
            println!("{}", serde_json::to_string_pretty(&accepted)?);
        } else {
            println!(
                "dispute {} opened on {}: bond {}, re-verification round {} by {} enclaves",
                accepted["disputeId"].as_str().unwrap_or("?"),
                args.job,
                accepted["bond"],
                accepted["round"],
                accepted["committee"].as_array().map_or(0, Vec::len),
            );
        }
        return Ok(());
    }
    let started = Instant::now();
    let view = loop {
        let view = json_or_error(
            client
                .get(format!("{server}/api/dispute/{}", args.job))
                .send()
                .await?,
        )
        .await?;
        let state = view["state"].as_str().unwrap_or("");
        if !matches!(state, "pending_reverification" | "reverifying") {
            break view;
        }
        if started.elapsed() > args.timeout {
            bail!("the dispute is still {state} after {:?}", args.timeout);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print_outcome(&view);
    }
    Ok(())
}

fn print_outcome(view: &Value) {
    println!(
        "{}: {} (disputed {}, re-verified {})",
        view["disputeId"].as_str().unwrap_or("?"),
        view["state"].as_str().unwrap_or("?"),
        view["disputedVerdict"].as_str().unwrap_or("?"),
        view["newVerdict"].as_str().unwrap_or("-"),
    );
    if let Some(outcome) = view["outcome"].as_str() {
        println!("  {outcome}");
    }
    for s in view["slashes"].as_array().into_iter().flatten() {
        println!(
            "  slashed {} by {}",
            s["enclaveId"].as_str().unwrap_or("?"),
            s["amount"]
        );
    }
    for m in view["bondMovements"].as_array().into_iter().flatten() {
        println!(
            "  {} {} → {}",
            m["kind"].as_str().unwrap_or("?"),
            m["amount"],
            m["to"].as_str().unwrap_or("outside")
        );
    }
    println!("  challenger balance: {}", view["challengerBalance"]);
}
