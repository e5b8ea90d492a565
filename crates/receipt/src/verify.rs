//! [`verify_receipt`]: every check of a receipt, in order, stopping at the
//! first failure.
//!
//! | check | what must hold |
//! |---|---|
//! | `version` | the schema version is [`RECEIPT_VERSION`] |
//! | `attestations` | each enclave's attestation verifies for its id and binds its signing key, with the registration's own code: a Nitro document chains to the pinned AWS root as of its timestamp, its signature holds and it binds the enclave's keys; its PCRs are checked against `--nitro-pcrs` when given, else shown |
//! | `enclave-signatures` | each enclave report verifies with its enclave's key, is about this job, round and media, and claims no stronger attestation than its enclave's (`nitro` needs a Nitro document) |
//! | `aggregator-signature` | the final report's digest and signature (and key, when one is given) |
//! | `votes` | the votes are exactly the signed reports: digest, verdict, confidence, attestation |
//! | `committee` | the signed committee record recomputes (rule, seed = job id, size, candidates' weights → members) and every vote is a member's |
//! | `consensus` | weights, winner, confidence, agreementRate, thresholdMet and tie recomputed from the signed inputs |
//! | `image` | the image's SHA-256 is the report's `mediaSha256` (only with an image) |
//! | `log-entry` | the log leaf is the final report's entry |
//! | `checkpoint-signature` | the checkpoint is signed by the log key, for the log's origin |
//! | `inclusion` | the inclusion proof leads from the leaf to the checkpoint's root |

use std::collections::BTreeMap;

use verity_core::committee::CommitteeRule;
use verity_core::{AttestationKind, Ballot, ConsensusRule, FinalReport, Sha256Digest};
use verity_crypto::{NitroRoot, PcrPolicy, verify_final_report, verify_report};
use verity_tlog::checkpoint::Checkpoint;
use verity_tlog::note::NoteVerifier;
use verity_tlog::proof::verify_inclusion;

use crate::entry::{EntryKind, final_report_leaf};
use crate::receipt::{ConsensusInputs, RECEIPT_VERSION, Receipt};

/// What the verifier is given besides the receipt.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The log's published verifier key; without it the receipt's own copy
    /// is used (which proves consistency, not that this is the real log).
    pub log_key: Option<NoteVerifier>,
    /// The aggregator's known Ed25519 key.
    pub aggregator_key: Option<[u8; 32]>,
    /// SHA-256 of the image the receipt should be about.
    pub image_sha256: Option<Sha256Digest>,
    /// The PCR allow-list Nitro documents must satisfy; without it their
    /// measurements are shown, not judged.
    pub nitro_pcrs: Option<PcrPolicy>,
    /// The Nitro trust anchor; `None` is the pinned AWS Nitro root G1.
    pub nitro_root: Option<NitroRoot>,
}

/// A check that passed, with what it established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Its name (see the module table).
    pub name: &'static str,
    /// What was established, in words.
    pub detail: String,
}

/// The first check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {reason}")]
pub struct VerifyError {
    /// Its name (see the module table).
    pub check: &'static str,
    /// Why it failed.
    pub reason: String,
}

fn fail<T>(check: &'static str, reason: impl Into<String>) -> Result<T, VerifyError> {
    Err(VerifyError {
        check,
        reason: reason.into(),
    })
}

/// The `committee` check: the signed record recomputes and covers every vote.
fn check_committee(fr: &FinalReport) -> Result<String, VerifyError> {
    let Some(c) = &fr.committee else {
        return Ok("not recorded (a report signed before committees were: v1)".to_owned());
    };
    if c.seed != fr.job_id {
        return fail(
            "committee",
            format!("the record is seeded with {}, not this job", c.seed),
        );
    }
    c.check().or_else(|e| fail("committee", e.to_string()))?;
    if let Some(v) = fr
        .consensus_metadata
        .votes
        .iter()
        .find(|v| !c.members.contains(&v.enclave_id))
    {
        return fail(
            "committee",
            format!("{} voted but is not on the signed committee", v.enclave_id),
        );
    }
    Ok(format!(
        "{} of {} eligible oracle(s) chosen by {}{}; every vote is a member's",
        c.members.len(),
        c.candidates.len(),
        match c.rule {
            CommitteeRule::WeightedSample => "the stake-weighted sample seeded by the job id",
            CommitteeRule::Escalated => "escalation (every eligible oracle)",
        },
        if c.escalated { " (escalated)" } else { "" }
    ))
}

/// Runs every check; `on_pass` sees each passed check as it happens.
///
/// # Errors
/// The first [`VerifyError`].
pub fn verify_receipt(
    receipt: &Receipt,
    options: &VerifyOptions,
    mut on_pass: impl FnMut(&Check),
) -> Result<Vec<Check>, VerifyError> {
    let mut passed = Vec::new();
    let mut pass = |name: &'static str, detail: String| {
        let check = Check { name, detail };
        on_pass(&check);
        passed.push(check);
    };
    let fr = &receipt.final_report;

    if receipt.version != RECEIPT_VERSION {
        return fail(
            "version",
            format!(
                "receipt version {:?}, this verifier reads {RECEIPT_VERSION:?}",
                receipt.version
            ),
        );
    }
    if receipt.job_id != fr.job_id {
        return fail("version", "the receipt's jobId is not the final report's");
    }
    pass("version", RECEIPT_VERSION.to_owned());

    let mut keys = BTreeMap::new();
    let pinned;
    let root = match &options.nitro_root {
        Some(root) => root,
        None => {
            pinned = NitroRoot::aws();
            &pinned
        }
    };
    let mut measured = Vec::new();
    for e in &receipt.enclaves {
        let verified = e
            .attestation
            .verify_offline(&e.enclave_id, root, options.nitro_pcrs.as_ref())
            .or_else(|err| fail("attestations", format!("{}: {err}", e.enclave_id)))?;
        let bound = verified.keys;
        if let Some(n) = &verified.nitro {
            let pcr0 = n.document.pcr_hex(0);
            measured.push(format!(
                "{} nitro PCR0 {}… {} as of {} ms{}",
                e.enclave_id,
                &pcr0[..pcr0.len().min(16)],
                if options.nitro_pcrs.is_some() {
                    "allowed"
                } else {
                    "(not judged: no --nitro-pcrs)"
                },
                n.chain_verified_at_ms,
                if n.debug {
                    ", DEBUG MODE (host can read its memory)"
                } else {
                    ""
                }
            ));
        }
        if bound.signing.as_slice() != e.signing_key.as_slice() {
            return fail(
                "attestations",
                format!(
                    "{}: the attestation binds another signing key",
                    e.enclave_id
                ),
            );
        }
        if keys
            .insert(e.enclave_id.clone(), (bound.signing, verified.kind))
            .is_some()
        {
            return fail("attestations", format!("{} is listed twice", e.enclave_id));
        }
    }
    let kinds: Vec<&str> = receipt
        .enclaves
        .iter()
        .map(|e| e.attestation.kind().as_str())
        .collect();
    pass(
        "attestations",
        format!(
            "{} enclave(s), kinds: {}{}",
            keys.len(),
            kinds.join(", "),
            if measured.is_empty() {
                String::new()
            } else {
                format!("; {}", measured.join("; "))
            }
        ),
    );

    for s in &receipt.enclave_reports {
        let r = &s.report;
        let Some((key, kind)) = keys.get(&r.enclave_id) else {
            return fail(
                "enclave-signatures",
                format!("{} has no attested key in the receipt", r.enclave_id),
            );
        };
        if r.attestation == AttestationKind::Nitro && *kind != AttestationKind::Nitro {
            return fail(
                "enclave-signatures",
                format!(
                    "report of {} claims a nitro attestation, its enclave's is {kind}",
                    r.enclave_id
                ),
            );
        }
        verify_report(key, s).or_else(|e| {
            fail(
                "enclave-signatures",
                format!("report of {}: {e}", r.enclave_id),
            )
        })?;
        if r.job_id != fr.job_id || r.round != fr.round || r.media_sha256 != fr.media_sha256 {
            return fail(
                "enclave-signatures",
                format!(
                    "report of {} is about another job, round or media",
                    r.enclave_id
                ),
            );
        }
    }
    let nautilus = receipt
        .enclave_reports
        .iter()
        .filter(|s| s.nautilus_signature.is_some())
        .count();
    pass(
        "enclave-signatures",
        format!(
            "{} report(s) signed by their attested keys ({nautilus} also in the Sui Nautilus layout)",
            receipt.enclave_reports.len()
        ),
    );

    verify_final_report(
        fr,
        options.aggregator_key.as_ref().map(<[u8; 32]>::as_slice),
    )
    .or_else(|e| {
        let why = if options
            .aggregator_key
            .is_some_and(|k| k.as_slice() != fr.aggregator_key.as_slice())
        {
            "signed by another key than the given aggregator key".to_owned()
        } else {
            format!("final report: {e}")
        };
        fail("aggregator-signature", why)
    })?;
    pass(
        "aggregator-signature",
        format!(
            "final report {} signed by {}{}",
            fr.report_digest,
            hex::encode(&fr.aggregator_key),
            if options.aggregator_key.is_some() {
                " (the given key)"
            } else {
                " (key named in the report)"
            }
        ),
    );

    let votes = &fr.consensus_metadata.votes;
    if votes.len() != receipt.enclave_reports.len() {
        return fail(
            "votes",
            format!(
                "{} vote(s) but {} signed report(s)",
                votes.len(),
                receipt.enclave_reports.len()
            ),
        );
    }
    for v in votes {
        let Some(s) = receipt
            .enclave_reports
            .iter()
            .find(|s| s.report.enclave_id == v.enclave_id)
        else {
            return fail(
                "votes",
                format!("no signed report for the vote of {}", v.enclave_id),
            );
        };
        let r = &s.report;
        if r.digest() != v.report_digest {
            return fail(
                "votes",
                format!("the vote of {} names another report digest", v.enclave_id),
            );
        }
        if r.verdict != v.verdict || r.confidence != v.confidence || r.attestation != v.attestation
        {
            return fail(
                "votes",
                format!(
                    "the vote of {} differs from its signed report",
                    v.enclave_id
                ),
            );
        }
    }
    pass(
        "votes",
        format!("{} vote(s) match the signed reports", votes.len()),
    );

    pass("committee", check_committee(fr)?);

    if receipt.consensus_inputs != ConsensusInputs::of(fr) {
        return fail(
            "consensus",
            "the consensus inputs differ from those the final report states",
        );
    }
    let m = &fr.consensus_metadata;
    let rule = ConsensusRule::new(m.threshold, m.min_enclaves)
        .or_else(|e| fail("consensus", e.to_string()))?;
    let ballots: Vec<Ballot> = receipt
        .consensus_inputs
        .ballots
        .iter()
        .filter_map(|b| {
            let s = receipt
                .enclave_reports
                .iter()
                .find(|s| s.report.enclave_id == b.enclave_id)?;
            Some(Ballot {
                enclave_id: b.enclave_id.clone(),
                verdict: s.report.verdict,
                confidence: s.report.confidence,
                reputation: b.reputation,
                stake: b.stake,
                report_digest: s.report.digest(),
                attestation: s.report.attestation,
            })
        })
        .collect();
    let outcome = rule
        .decide(&ballots)
        .or_else(|e| fail("consensus", e.to_string()))?;
    if outcome.votes != *votes {
        return fail(
            "consensus",
            "recomputed weights differ from the signed votes",
        );
    }
    let stated = (
        fr.verdict,
        fr.confidence,
        m.agreement_rate.to_bits(),
        m.threshold_met,
        m.tie,
        m.participating_enclaves as usize,
    );
    let recomputed = (
        outcome.verdict,
        outcome.confidence,
        outcome.agreement_rate.to_bits(),
        outcome.threshold_met,
        outcome.tie,
        outcome.votes.len(),
    );
    if stated != recomputed {
        return fail(
            "consensus",
            format!(
                "recomputed {} (confidence {}, agreementRate {:.4}, thresholdMet {}, tie {}) \
                 but the report says {} (confidence {}, agreementRate {:.4}, thresholdMet {}, tie {})",
                outcome.verdict,
                outcome.confidence.as_f64(),
                outcome.agreement_rate,
                outcome.threshold_met,
                outcome.tie,
                fr.verdict,
                fr.confidence.as_f64(),
                m.agreement_rate,
                m.threshold_met,
                m.tie
            ),
        );
    }
    pass(
        "consensus",
        format!(
            "{} with agreementRate {:.4} (threshold {}, met: {}) recomputed from {} vote(s)",
            fr.verdict,
            m.agreement_rate,
            m.threshold,
            m.threshold_met,
            votes.len()
        ),
    );

    if let Some(image) = options.image_sha256 {
        if image != fr.media_sha256 {
            return fail(
                "image",
                format!(
                    "the image's SHA-256 is {image}, the report is about {}",
                    fr.media_sha256
                ),
            );
        }
        pass("image", format!("SHA-256 {image}"));
    }

    let log = &receipt.log;
    if log.entry.kind != EntryKind::FinalReport || log.entry.leaf != final_report_leaf(fr) {
        return fail("log-entry", "the log leaf is not this final report's entry");
    }
    pass(
        "log-entry",
        format!(
            "entry {} records report {}",
            log.entry.index, fr.report_digest
        ),
    );

    let embedded;
    let key = match &options.log_key {
        Some(k) => k,
        None => {
            embedded = NoteVerifier::parse(&log.log_key)
                .or_else(|e| fail("checkpoint-signature", format!("log key: {e}")))?;
            &embedded
        }
    };
    let checkpoint = Checkpoint::open(&log.checkpoint, key, &log.origin)
        .or_else(|e| fail("checkpoint-signature", e.to_string()))?;
    if log.origin != key.name() {
        return fail(
            "checkpoint-signature",
            format!(
                "origin {:?} is not the log key's name {:?}",
                log.origin,
                key.name()
            ),
        );
    }
    pass(
        "checkpoint-signature",
        format!(
            "checkpoint of {} entries signed by {}+{:08x}{}",
            checkpoint.size,
            key.name(),
            key.key_id(),
            if options.log_key.is_some() {
                " (the given log key)"
            } else {
                " (key copied in the receipt: pass --log-key to pin the log)"
            }
        ),
    );

    let proof = &log.inclusion_proof;
    if proof.tree_size != checkpoint.size || proof.leaf_index != log.entry.index {
        return fail(
            "inclusion",
            format!(
                "proof is for leaf {} of {} entries, the entry is {} and the checkpoint has {}",
                proof.leaf_index, proof.tree_size, log.entry.index, checkpoint.size
            ),
        );
    }
    let hashes: Vec<[u8; 32]> = proof.hashes.iter().map(|h| h.0).collect();
    verify_inclusion(
        &verity_tlog::leaf_hash(&log.entry.leaf),
        proof.leaf_index,
        proof.tree_size,
        &hashes,
        &checkpoint.root,
    )
    .or_else(|e| fail("inclusion", e.to_string()))?;
    pass(
        "inclusion",
        format!(
            "entry {} is in the checkpoint's tree of {} (root {})",
            proof.leaf_index,
            checkpoint.size,
            hex::encode(checkpoint.root)
        ),
    );
    // The chain's copy of the root cannot be read offline, but an anchor
    // claiming another checkpoint than the one the receipt proves against
    // is a forged or mixed-up receipt.
    if let Some(anchor) = &receipt.anchor {
        if anchor.checkpoint_size != checkpoint.size {
            return fail(
                "anchor",
                format!(
                    "the anchor ({} transaction {}) is for the checkpoint of {} entries, the receipt's has {}",
                    anchor.chain, anchor.tx_digest, anchor.checkpoint_size, checkpoint.size
                ),
            );
        }
        pass(
            "anchor",
            format!(
                "the checkpoint of {} entries was anchored on {} in transaction {} (compare its root on chain)",
                checkpoint.size, anchor.chain, anchor.tx_digest
            ),
        );
    }
    Ok(passed)
}
