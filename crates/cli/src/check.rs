//! `verity check`: the whole pipeline in-process, verdicts printed.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use serde_json::{Value, json};
use verity_core::{FinalReport, JobStatus};
use verity_node::Node;
use verity_store::JobRecord;

use crate::args::CheckArgs;

/// Checks each image; exits non-zero when any image could not be checked.
pub async fn run(args: CheckArgs) -> Result<()> {
    let temp = tempfile::tempdir()?;
    let data_dir = args
        .node
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    let config = args.node.embedded_config(data_dir)?;
    let wait = config.settings.round_timeout + std::time::Duration::from_secs(10);
    let node = Node::start_embedded(config)
        .await
        .context("starting the in-process pipeline")?;
    let mut results = Vec::new();
    let mut failures = 0;
    for path in &args.images {
        let outcome = check_one(&node, path, wait).await;
        if outcome.get("error").is_some() || outcome["status"] == json!(JobStatus::Failed) {
            failures += 1;
        }
        if !args.json {
            print_human(path, &outcome);
        }
        results.push(outcome);
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "results": results }))?
        );
    }
    node.shutdown().await;
    if failures > 0 {
        bail!(
            "{failures} of {} images could not be checked",
            args.images.len()
        );
    }
    Ok(())
}

async fn check_one(node: &Node, path: &PathBuf, wait: std::time::Duration) -> Value {
    let file = path.display().to_string();
    let bytes = match tokio::fs::read(path).await {
        Ok(b) => Bytes::from(b),
        Err(e) => return json!({ "file": file, "error": format!("cannot read: {e}") }),
    };
    let accepted = match node.state.uploads.accept(bytes, None).await {
        Ok(a) => a,
        Err(e) => return json!({ "file": file, "error": e.message, "code": e.code }),
    };
    match node.wait_for_decision(&accepted.job_id, wait).await {
        Ok(Some(job)) => job_json(&file, &job),
        Ok(None) => {
            json!({ "file": file, "jobId": accepted.job_id, "error": "no decision in time" })
        }
        Err(e) => json!({ "file": file, "jobId": accepted.job_id, "error": e.to_string() }),
    }
}

fn job_json(file: &str, job: &JobRecord) -> Value {
    json!({
        "file": file,
        "jobId": job.job_id,
        "status": job.status,
        "mediaHash": job.media_sha256,
        "failureReason": job.failure_reason,
        "report": job.final_report,
    })
}

fn print_human(path: &std::path::Path, outcome: &Value) {
    let name = path.display();
    if let Some(error) = outcome.get("error").and_then(Value::as_str) {
        println!("{name}: not checked — {error}");
        return;
    }
    match serde_json::from_value::<FinalReport>(outcome["report"].clone()) {
        Ok(report) => println!("{name}: {}", crate::client::describe_report(&report)),
        Err(_) => println!(
            "{name}: FAILED — {}",
            outcome["failureReason"]
                .as_str()
                .unwrap_or("no final report")
        ),
    }
}
