//! `verity submit` and `verity oracles`: a client of a running server.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use verity_core::{FinalReport, Verdict};

use crate::args::{OraclesArgs, SubmitArgs};

pub(crate) fn http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

pub(crate) async fn json_or_error(response: reqwest::Response) -> Result<Value> {
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .with_context(|| format!("server answered {status} without JSON"))?;
    if !status.is_success() {
        let message = body["error"]["message"].as_str().unwrap_or("no message");
        bail!("server refused ({status}): {message}");
    }
    Ok(body)
}

/// Uploads an image, optionally following it to the verdict.
pub async fn submit(args: SubmitArgs) -> Result<()> {
    let bytes = tokio::fs::read(&args.image)
        .await
        .with_context(|| format!("reading {}", args.image.display()))?;
    let name = args
        .image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name),
    );
    if let Some(user) = &args.user_id {
        form = form.text("userId", user.clone());
    }
    let server = args.server.trim_end_matches('/');
    let client = http()?;
    let accepted = json_or_error(
        client
            .post(format!("{server}/api/upload"))
            .multipart(form)
            .send()
            .await?,
    )
    .await?;
    let job_id = accepted["jobId"]
        .as_str()
        .context("no jobId in the answer")?
        .to_owned();
    if !args.wait {
        println!(
            "{}",
            if args.json {
                accepted.to_string()
            } else {
                job_id
            }
        );
        return Ok(());
    }
    follow(&client, server, &job_id).await?;
    let job = json_or_error(
        client
            .get(format!("{server}/api/jobs/{job_id}"))
            .send()
            .await?,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&job)?);
    } else {
        print_job(&job_id, &job);
    }
    if job["status"] == "FAILED" {
        bail!("job {job_id} failed");
    }
    Ok(())
}

/// Follows the job's event stream with a progress bar until it is decided.
async fn follow(client: &reqwest::Client, server: &str, job_id: &str) -> Result<()> {
    let bar = ProgressBar::new(100);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos:>3}% {msg}")?.progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let response = client
        .get(format!("{server}/api/jobs/{job_id}/events"))
        .send()
        .await?;
    if !response.status().is_success() {
        bail!("cannot follow {job_id}: {}", response.status());
    }
    let mut events = response.bytes_stream().eventsource();
    let (mut members, mut finished) = (1u64, 0u64);
    while let Some(event) = events.next().await {
        let event = event.context("reading the event stream")?;
        let data: Value = serde_json::from_str(&event.data).unwrap_or(Value::Null);
        match event.event.as_str() {
            "queued" => {
                members = data["committee"]
                    .as_array()
                    .map_or(1, |c| c.len().max(1) as u64);
                bar.set_position(5);
                bar.set_message(format!("queued for {members} enclaves"));
            }
            "enclave_started" => bar.set_message(format!(
                "{} started",
                data["enclaveId"].as_str().unwrap_or("?")
            )),
            "enclave_finished" => {
                finished += 1;
                bar.set_position(10 + 80 * finished.min(members) / members);
                bar.set_message(format!(
                    "{} finished",
                    data["enclaveId"].as_str().unwrap_or("?")
                ));
            }
            "consensus" => bar.set_message("consensus reached"),
            "completed" | "failed" => break,
            _ => {}
        }
    }
    bar.finish_and_clear();
    Ok(())
}

fn print_job(job_id: &str, job: &Value) {
    match serde_json::from_value::<FinalReport>(job["report"].clone()) {
        Ok(report) => println!("{job_id}: {}", describe_report(&report)),
        Err(_) => println!(
            "{job_id}: {} — {}",
            job["status"].as_str().unwrap_or("?"),
            job["failureReason"].as_str().unwrap_or("no final report")
        ),
    }
}

/// The verdict in plain words, then the evidence.
pub fn describe_report(report: &FinalReport) -> String {
    let m = &report.consensus_metadata;
    let words = match report.verdict {
        Verdict::Real => "Likely a real capture",
        Verdict::AiGenerated => "Likely AI-generated",
        Verdict::Uncertain => "Uncertain",
    };
    let agree = m
        .votes
        .iter()
        .filter(|v| v.verdict == report.verdict)
        .count();
    let threshold = if m.threshold_met {
        format!("threshold {:.0} % met", m.threshold * 100.0)
    } else {
        format!(
            "below the {:.0} % threshold: low confidence",
            m.threshold * 100.0
        )
    };
    let mut out = format!(
        "{words} ({}, confidence {:.2}) — {agree} of {} verifiers agree, {:.1} % of weight, {threshold}",
        report.verdict,
        report.confidence.as_f64(),
        m.votes.len(),
        m.agreement_rate * 100.0
    );
    if m.votes
        .iter()
        .any(|v| v.attestation == verity_core::AttestationKind::DevInsecure)
    {
        out.push_str("\n  attestation: dev-insecure (development keys, not hardware-attested)");
    }
    for e in &report.evidence {
        out.push_str(&format!("\n  evidence [{}]: {}", e.detector, e.message));
    }
    out
}

/// `kind [pcr0=…] verified … [NOT VALID: revoked …]` for one oracle.
fn attestation_summary(o: &serde_json::Value) -> String {
    let mut out = o["attestation"].as_str().unwrap_or("?").to_owned();
    let s = &o["attestationStatus"];
    if s.is_null() {
        return out + " (no verified attestation: reports refused)";
    }
    if let Some(p) = s["pcr0Prefix"].as_str() {
        out.push_str(&format!(" pcr0={p}…"));
    }
    if let Some(at) = s["verifiedAt"].as_str() {
        out.push_str(&format!(" verified {at}"));
    }
    if s["valid"] == false {
        match s["revokedAt"].as_str() {
            Some(at) => out.push_str(&format!(
                " REVOKED {at}: {}",
                s["revokeReason"].as_str().unwrap_or("")
            )),
            None => out.push_str(" NOT VALID (expired or kind not accepted)"),
        }
    }
    out
}

/// Lists the server's oracles.
pub async fn oracles(args: OraclesArgs) -> Result<()> {
    let server = args.server.trim_end_matches('/');
    let body = json_or_error(http()?.get(format!("{server}/api/oracles")).send().await?).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&body["oracles"])?);
        return Ok(());
    }
    println!(
        "{:<16} {:>10} {:>8} {:>7} {:>8} {:>8} {:<8} ATTESTATION",
        "ENCLAVE", "REPUTATION", "STAKE", "WEIGHT", "COUNTED", "SLASHES", "BANNED"
    );
    for o in body["oracles"].as_array().into_iter().flatten() {
        println!(
            "{:<16} {:>10.2} {:>8} {:>7.2} {:>8} {:>8} {:<8} {}",
            o["enclaveId"].as_str().unwrap_or("?"),
            o["reputation"].as_f64().unwrap_or(0.0),
            o["stake"].as_u64().unwrap_or(0),
            o["weight"].as_f64().unwrap_or(0.0),
            o["reportsCounted"].as_u64().unwrap_or(0),
            o["slashes"].as_u64().unwrap_or(0),
            if o["banned"].as_bool().unwrap_or(false) {
                "yes"
            } else {
                "no"
            },
            attestation_summary(o),
        );
    }
    for o in body["oracles"].as_array().into_iter().flatten() {
        if let Some(why) = o["banReason"].as_str() {
            println!("{} banned: {why}", o["enclaveId"].as_str().unwrap_or("?"));
        }
    }
    Ok(())
}
