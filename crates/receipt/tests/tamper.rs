//! A real receipt (real keys, attestations, consensus, log and checkpoint)
//! verifies; changing any field in turn is refused by the check that covers it.

use verity_core::committee::{Candidate, CommitteeSelection};
use verity_core::finalize::{RoundContext, assemble};
use verity_core::*;
use verity_crypto::{
    AggregatorKey, Attestation, DevAttestation, EnclaveKeys, NitroAttestation, PcrPolicy, PcrSet,
};
use verity_receipt::entry::final_report_leaf;
use verity_receipt::*;
use verity_tlog::checkpoint::Checkpoint;
use verity_tlog::note::NoteSigner;
use verity_tlog::{MerkleTree, leaf_hash};

#[path = "support/mint.rs"]
mod mint;

struct Fixture {
    receipt: Receipt,
    log_key: NoteSigner,
    aggregator: AggregatorKey,
    enclave_keys: Vec<EnclaveKeys>,
}

fn enclave_report(job: &JobId, id: &str, verdict: Verdict, conf: f64) -> EnclaveReport {
    EnclaveReport {
        job_id: job.clone(),
        round: 0,
        enclave_id: id.parse().unwrap(),
        media_sha256: Sha256Digest::of(b"the image"),
        verdict,
        confidence: Confidence::from_f64(conf),
        detectors: vec![],
        attestation: AttestationKind::DevInsecure,
        timestamp_ms: 1_700_000_000_000,
    }
}

/// A committee of 3 chosen from `members` plus two weightless candidates
/// (weight 0 serves last), so the record lists more eligible oracles than members.
fn committee(job: &JobId, members: &[&str]) -> CommitteeSelection {
    let mut candidates: Vec<Candidate> = members
        .iter()
        .map(|id| Candidate {
            enclave_id: id.parse().unwrap(),
            weight: 2.5,
        })
        .collect();
    for idle in ["enclave-8", "enclave-9"] {
        candidates.push(Candidate {
            enclave_id: idle.parse().unwrap(),
            weight: 0.0,
        });
    }
    CommitteeSelection::sample(job, candidates, members.len())
}

/// The seed's vector: REAL (0.9, 1000), REAL (0.8, 500), AI (0.7, 1500).
fn fixture() -> Fixture {
    fixture_with(|id, keys| Attestation::Dev(DevAttestation::issue(id, keys, 5)))
}

/// [`fixture`] with each enclave attested by `attest`; its reports claim that kind.
fn fixture_with(attest: impl Fn(&EnclaveId, &EnclaveKeys) -> Attestation) -> Fixture {
    let job = JobId::generate();
    let standing = [
        ("enclave-1", Verdict::Real, 0.9, 1000),
        ("enclave-2", Verdict::Real, 0.8, 500),
        ("enclave-3", Verdict::AiGenerated, 0.7, 1500),
    ];
    let mut enclave_keys = Vec::new();
    let mut signed = Vec::new();
    let mut enclaves = Vec::new();
    let mut ballots = Vec::new();
    for (id, verdict, reputation, stake) in standing {
        let keys = EnclaveKeys::generate();
        let eid: EnclaveId = id.parse().unwrap();
        let attestation = attest(&eid, &keys);
        let kind = attestation.kind();
        let s = keys.sign_report(EnclaveReport {
            attestation: kind,
            ..enclave_report(&job, id, verdict, 0.8)
        });
        enclaves.push(EnclaveInfo {
            enclave_id: eid.clone(),
            signing_key: keys.public().signing.to_vec(),
            attestation,
        });
        ballots.push(Ballot {
            enclave_id: eid,
            verdict,
            confidence: s.report.confidence,
            reputation,
            stake,
            report_digest: s.report.digest(),
            attestation: kind,
        });
        signed.push(s);
        enclave_keys.push(keys);
    }
    let rule = ConsensusRule::default();
    let outcome = rule.decide(&ballots).unwrap();
    let ctx = RoundContext {
        job_id: job.clone(),
        round: 0,
        media_sha256: Sha256Digest::of(b"the image"),
        timestamp_ms: 1_700_000_000_500,
    };
    let reports: Vec<EnclaveReport> = signed.iter().map(|s| s.report.clone()).collect();
    let mut fr = assemble(&ctx, &rule, &outcome, &reports);
    fr.committee = Some(committee(&job, &["enclave-1", "enclave-2", "enclave-3"]));
    let aggregator = AggregatorKey::generate();
    aggregator.sign_final(&mut fr);
    assert!(!fr.consensus_metadata.threshold_met, "63.1 % < 66 %");

    let log_key = NoteSigner::generate("test.example/log").unwrap();
    let mut tree = MerkleTree::new();
    for i in 0..5u8 {
        tree.push(&[i]);
    }
    let leaf = final_report_leaf(&fr);
    let index = tree.push(&leaf);
    for i in 0..3u8 {
        tree.push(&[100 + i]);
    }
    let checkpoint = Checkpoint {
        origin: "test.example/log".into(),
        size: tree.size(),
        root: tree.root(),
        extensions: vec![],
    };
    let receipt = Receipt {
        version: RECEIPT_VERSION.into(),
        job_id: job,
        consensus_inputs: ConsensusInputs::of(&fr),
        final_report: fr,
        enclave_reports: signed,
        enclaves,
        log: LogProof {
            origin: "test.example/log".into(),
            log_key: log_key.verifier().to_vkey(),
            entry: LogEntryInfo {
                index,
                kind: EntryKind::FinalReport,
                leaf,
            },
            inclusion_proof: InclusionProof {
                leaf_index: index,
                tree_size: tree.size(),
                hashes: tree
                    .inclusion_proof(index, tree.size())
                    .unwrap()
                    .into_iter()
                    .map(Sha256Digest)
                    .collect(),
            },
            checkpoint: checkpoint.sign(&log_key).unwrap(),
        },
        anchor: None,
    };
    Fixture {
        receipt,
        log_key,
        aggregator,
        enclave_keys,
    }
}

fn options(f: &Fixture) -> VerifyOptions {
    VerifyOptions {
        log_key: Some(f.log_key.verifier()),
        aggregator_key: Some(f.aggregator.public()),
        image_sha256: Some(Sha256Digest::of(b"the image")),
        ..VerifyOptions::default()
    }
}

fn failing_check(receipt: &Receipt, options: &VerifyOptions) -> &'static str {
    verify_receipt(receipt, options, |_| {})
        .expect_err("tampered receipt must be refused")
        .check
}

#[test]
fn an_untouched_receipt_passes_every_check() {
    let f = fixture();
    let mut seen = Vec::new();
    let passed = verify_receipt(&f.receipt, &options(&f), |c| seen.push(c.name)).unwrap();
    assert_eq!(
        seen,
        vec![
            "version",
            "attestations",
            "enclave-signatures",
            "aggregator-signature",
            "votes",
            "committee",
            "consensus",
            "image",
            "log-entry",
            "checkpoint-signature",
            "inclusion"
        ]
    );
    assert_eq!(passed.len(), 11);
    assert!(
        passed[5].detail.starts_with("3 of 5 eligible"),
        "{:?}",
        passed[5]
    );
    // Without pinned keys it still verifies (against the receipt's own copies).
    verify_receipt(&f.receipt, &VerifyOptions::default(), |_| {}).unwrap();
    // And it survives a JSON round trip.
    let json = serde_json::to_string(&f.receipt).unwrap();
    let back: Receipt = serde_json::from_str(&json).unwrap();
    verify_receipt(&back, &options(&f), |_| {}).unwrap();
}

type Tamper = (&'static str, &'static str, fn(&mut Receipt));

#[test]
fn every_field_tampered_in_turn_is_refused_by_its_check() {
    let cases: Vec<Tamper> = vec![
        ("version", "version", |r| {
            r.version = "verity-receipt/v0".into()
        }),
        ("job id", "version", |r| r.job_id = JobId::generate()),
        ("attestation signature", "attestations", |r| {
            let Attestation::Dev(d) = &mut r.enclaves[0].attestation else {
                panic!("the fixture uses dev attestations");
            };
            d.signature[0] ^= 1;
        }),
        ("attestation of another enclave", "attestations", |r| {
            let other = r.enclaves[1].attestation.clone();
            r.enclaves[0].attestation = other;
        }),
        ("listed signing key", "attestations", |r| {
            r.enclaves[0].signing_key = r.enclaves[1].signing_key.clone()
        }),
        ("enclave verdict", "enclave-signatures", |r| {
            r.enclave_reports[2].report.verdict = Verdict::Real
        }),
        ("enclave confidence", "enclave-signatures", |r| {
            r.enclave_reports[0].report.confidence = Confidence::from_f64(0.99)
        }),
        ("enclave signature", "enclave-signatures", |r| {
            r.enclave_reports[1].signature[7] ^= 0x40
        }),
        ("anchor of another checkpoint", "anchor", |r| {
            r.anchor = Some(verity_receipt::AnchorInfo {
                chain: "sui:testnet".into(),
                tx_digest: "5iDNXre6ohXPDjNJFYxX5i25YpXCRaMn4WBDryifVvJR".into(),
                checkpoint_size: r.log.inclusion_proof.tree_size + 1,
            })
        }),
        ("enclave Nautilus signature", "enclave-signatures", |r| {
            r.enclave_reports[0]
                .nautilus_signature
                .as_mut()
                .expect("reports are signed in the Nautilus layout too")[5] ^= 0x02
        }),
        (
            "an enclave without attestation",
            "enclave-signatures",
            |r| {
                r.enclaves.remove(0);
            },
        ),
        ("final verdict", "aggregator-signature", |r| {
            r.final_report.verdict = Verdict::AiGenerated
        }),
        ("agreement rate", "aggregator-signature", |r| {
            r.final_report.consensus_metadata.agreement_rate = 0.9
        }),
        ("threshold met", "aggregator-signature", |r| {
            r.final_report.consensus_metadata.threshold_met = true
        }),
        ("a vote's weight", "aggregator-signature", |r| {
            r.final_report.consensus_metadata.votes[0].weight = 9.0
        }),
        ("media hash", "enclave-signatures", |r| {
            r.final_report.media_sha256 = Sha256Digest::of(b"other")
        }),
        ("aggregator signature", "aggregator-signature", |r| {
            r.final_report.aggregator_signature[0] ^= 1
        }),
        (
            "a committee candidate's weight",
            "aggregator-signature",
            |r| r.final_report.committee.as_mut().unwrap().candidates[3].weight = 50.0,
        ),
        (
            "the committee record removed",
            "aggregator-signature",
            |r| r.final_report.committee = None,
        ),
        ("a report missing", "votes", |r| {
            r.enclave_reports.pop();
        }),
        ("consensus input stake", "consensus", |r| {
            r.consensus_inputs.ballots[0].stake = 10_000
        }),
        ("consensus input reputation", "consensus", |r| {
            r.consensus_inputs.ballots[2].reputation = 1.0
        }),
        ("consensus threshold", "consensus", |r| {
            r.consensus_inputs.threshold = 0.5
        }),
        ("log leaf", "log-entry", |r| r.log.entry.leaf[30] ^= 1),
        ("log entry kind", "log-entry", |r| {
            r.log.entry.kind = EntryKind::DisputeOutcome
        }),
        ("checkpoint body", "checkpoint-signature", |r| {
            r.log.checkpoint = r.log.checkpoint.replacen("\n9\n", "\n10\n", 1)
        }),
        ("checkpoint signature", "checkpoint-signature", |r| {
            let n = r.log.checkpoint.len();
            let mut bytes = r.log.checkpoint.clone().into_bytes();
            bytes[n - 5] = if bytes[n - 5] == b'A' { b'B' } else { b'A' };
            r.log.checkpoint = String::from_utf8(bytes).unwrap();
        }),
        ("origin", "checkpoint-signature", |r| {
            r.log.origin = "evil.example/log".into()
        }),
        ("proof hash", "inclusion", |r| {
            r.log.inclusion_proof.hashes[0].0[0] ^= 1
        }),
        ("proof shortened", "inclusion", |r| {
            r.log.inclusion_proof.hashes.pop();
        }),
        ("entry index", "inclusion", |r| {
            r.log.entry.index += 1;
            r.log.inclusion_proof.leaf_index += 1;
        }),
        ("proof tree size", "inclusion", |r| {
            r.log.inclusion_proof.tree_size = 8
        }),
    ];
    let f = fixture();
    for (what, check, tamper) in cases {
        let mut r = f.receipt.clone();
        tamper(&mut r);
        assert_eq!(failing_check(&r, &options(&f)), check, "tampered {what}");
    }
}

#[test]
fn a_resigned_report_with_a_wrong_consensus_is_caught_by_recomputation() {
    // Whoever holds the aggregator key can sign anything: the consensus
    // check recomputes it from the enclaves' own signed reports.
    let f = fixture();
    let mut r = f.receipt.clone();
    r.final_report.verdict = Verdict::Real;
    r.final_report.consensus_metadata.threshold_met = true;
    f.aggregator.sign_final(&mut r.final_report);
    r.log.entry.leaf = final_report_leaf(&r.final_report);
    assert_eq!(failing_check(&r, &options(&f)), "consensus");

    // Reputation inflated consistently in the signed votes and the inputs.
    let mut r = f.receipt.clone();
    let v = &mut r.final_report.consensus_metadata.votes[0];
    v.reputation = 1.0;
    v.weight = weight_of(1.0, v.stake);
    f.aggregator.sign_final(&mut r.final_report);
    r.consensus_inputs = ConsensusInputs::of(&r.final_report);
    assert_eq!(failing_check(&r, &options(&f)), "consensus");

    // A vote that claims another verdict than the enclave signed.
    let mut r = f.receipt.clone();
    r.final_report.consensus_metadata.votes[2].verdict = Verdict::Real;
    f.aggregator.sign_final(&mut r.final_report);
    assert_eq!(failing_check(&r, &options(&f)), "votes");
    assert!(f.enclave_keys.len() == 3);
}

#[test]
fn a_resigned_committee_must_recompute_and_hold_every_voter() {
    let f = fixture();
    let job = f.receipt.job_id.clone();
    let resigned = |change: &dyn Fn(&mut CommitteeSelection)| {
        let mut r = f.receipt.clone();
        change(r.final_report.committee.as_mut().unwrap());
        f.aggregator.sign_final(&mut r.final_report);
        r.log.entry.leaf = final_report_leaf(&r.final_report);
        r
    };
    // Members the rule would not choose: an idle candidate swapped in.
    let r = resigned(&|c| {
        c.members[0] = "enclave-9".parse().unwrap();
        c.members.sort();
    });
    assert_eq!(failing_check(&r, &options(&f)), "committee");
    // Seeded with another job's id.
    let r = resigned(&|c| c.seed = JobId::generate());
    assert_eq!(failing_check(&r, &options(&f)), "committee");
    // Escalated in name only.
    let r = resigned(&|c| c.escalated = true);
    assert_eq!(failing_check(&r, &options(&f)), "committee");
    // A consistent record that leaves a voter out: enclave-3's vote is not a member's.
    let r = resigned(&|c| *c = committee(&job, &["enclave-1", "enclave-2"]));
    let err = verify_receipt(&r, &options(&f), |_| {}).unwrap_err();
    assert_eq!(err.check, "committee");
    assert!(err.reason.contains("enclave-3"), "{err}");
    // Re-signed reports are not in the log, so a sound one fails only at
    // `inclusion`, after `committee` passed.
    let committee_detail = |r: &Receipt| {
        let mut seen = Vec::new();
        let err = verify_receipt(r, &options(&f), |c| seen.push(c.clone())).unwrap_err();
        assert_eq!(err.check, "inclusion");
        seen.into_iter()
            .find(|c| c.name == "committee")
            .unwrap()
            .detail
    };
    // An escalated committee of exactly the voters.
    let r = resigned(&|c| {
        *c = CommitteeSelection::escalated(&job, c.candidates[..3].to_vec());
    });
    assert!(committee_detail(&r).contains("(escalated)"));
    // A report signed without a record (v1) says so.
    let mut r = f.receipt.clone();
    r.final_report.committee = None;
    f.aggregator.sign_final(&mut r.final_report);
    r.log.entry.leaf = final_report_leaf(&r.final_report);
    assert!(committee_detail(&r).starts_with("not recorded"));
}

fn weight_of(reputation: f64, stake: u64) -> f64 {
    verity_core::consensus::weight(reputation, stake)
}

#[test]
fn pinned_keys_and_the_image_are_enforced() {
    let f = fixture();
    let mut o = options(&f);
    o.image_sha256 = Some(Sha256Digest::of(b"another image"));
    assert_eq!(failing_check(&f.receipt, &o), "image");
    let mut o = options(&f);
    o.aggregator_key = Some(AggregatorKey::generate().public());
    assert_eq!(failing_check(&f.receipt, &o), "aggregator-signature");
    let mut o = options(&f);
    o.log_key = Some(NoteSigner::generate("test.example/log").unwrap().verifier());
    assert_eq!(failing_check(&f.receipt, &o), "checkpoint-signature");
    // The receipt's copy of the log key is ignored when a key is pinned, and
    // an unpinned copy that did not sign the checkpoint is refused.
    let attacker = NoteSigner::generate("test.example/log").unwrap();
    let mut r = f.receipt.clone();
    r.log.log_key = attacker.verifier().to_vkey();
    verify_receipt(&r, &options(&f), |_| {}).unwrap();
    let mut unpinned = options(&f);
    unpinned.log_key = None;
    assert_eq!(failing_check(&r, &unpinned), "checkpoint-signature");
    // A checkpoint re-signed by the attacker passes only with the attacker's key.
    let body = verity_tlog::note::open(&r.log.checkpoint, &[f.log_key.verifier()])
        .unwrap()
        .text;
    r.log.checkpoint = verity_tlog::sign_note(&body, std::slice::from_ref(&attacker)).unwrap();
    verify_receipt(&r, &unpinned, |_| {}).unwrap();
    assert_eq!(failing_check(&r, &options(&f)), "checkpoint-signature");
    let _ = leaf_hash(b"");
}

/// Unix ms of the minted documents (long ago: offline checks have no freshness window).
const MINTED_AT: u64 = 1_700_000_000_000;

fn nitro_claims(binding: &[u8]) -> mint::Claims<'_> {
    mint::Claims {
        timestamp_ms: MINTED_AT,
        pcrs: [0xa0, 0xa1, 0xa2],
        user_data: binding,
        leaf_validity: None,
    }
}

/// Each enclave attested by a document of `ca` binding its own id and keys.
fn nitro_fixture(ca: &mint::TestCa) -> Fixture {
    fixture_with(|id, keys| {
        let public = keys.public();
        let binding =
            verity_crypto::nitro::key_binding(id.as_str(), &public.signing, &public.encryption);
        Attestation::Nitro(NitroAttestation {
            signing_key: public.signing.to_vec(),
            encryption_key: public.encryption.to_vec(),
            document: ca.document(&nitro_claims(&binding)),
        })
    })
}

fn nitro_options(f: &Fixture, ca: &mint::TestCa) -> VerifyOptions {
    VerifyOptions {
        nitro_root: Some(ca.root()),
        ..options(f)
    }
}

fn refusal(receipt: &Receipt, options: &VerifyOptions) -> VerifyError {
    verify_receipt(receipt, options, |_| {}).expect_err("must be refused")
}

fn document_of(r: &mut Receipt, i: usize) -> &mut Vec<u8> {
    let Attestation::Nitro(n) = &mut r.enclaves[i].attestation else {
        panic!("a nitro fixture");
    };
    &mut n.document
}

#[test]
fn nitro_attestations_in_a_receipt_verify_offline_with_the_registration_code() {
    let ca = mint::TestCa::new();
    let f = nitro_fixture(&ca);
    let mut seen = Vec::new();
    verify_receipt(&f.receipt, &nitro_options(&f, &ca), |c| {
        seen.push(c.clone())
    })
    .unwrap();
    let detail = &seen[1].detail;
    assert_eq!(seen[1].name, "attestations");
    assert!(detail.contains("kinds: nitro, nitro, nitro"), "{detail}");
    assert!(
        detail.contains(&format!("PCR0 {}… (not judged", "a0".repeat(8))),
        "{detail}"
    );
    assert!(
        detail.contains(&format!("as of {MINTED_AT} ms")),
        "{detail}"
    );
    assert!(!detail.contains("DEBUG"), "{detail}");
    // Through JSON (documents travel as hex) it still verifies.
    let back: Receipt = serde_json::from_str(&serde_json::to_string(&f.receipt).unwrap()).unwrap();
    verify_receipt(&back, &nitro_options(&f, &ca), |_| {}).unwrap();

    // Against the pinned AWS root (the default), the test CA is untrusted.
    let e = refusal(&f.receipt, &options(&f));
    assert_eq!(e.check, "attestations");
    assert!(e.reason.contains("untrusted certificate chain"), "{e}");

    // With an allow-list, the PCRs are judged: allowed, or refused naming them.
    let set = |p0: &str| PcrSet {
        name: None,
        pcr0: p0.repeat(48),
        pcr1: "a1".repeat(48),
        pcr2: "a2".repeat(48),
        pcr8: None,
    };
    let mut o = nitro_options(&f, &ca);
    o.nitro_pcrs = Some(PcrPolicy {
        allowed: vec![set("a0")],
        allow_debug: false,
    });
    let mut seen = Vec::new();
    verify_receipt(&f.receipt, &o, |c| seen.push(c.clone())).unwrap();
    assert!(seen[1].detail.contains("allowed as of"), "{:?}", seen[1]);
    o.nitro_pcrs = Some(PcrPolicy {
        allowed: vec![set("b0")],
        allow_debug: false,
    });
    let e = refusal(&f.receipt, &o);
    assert_eq!(e.check, "attestations");
    assert!(
        e.reason.contains("PCR0") && e.reason.contains(&"a0".repeat(48)),
        "{e}"
    );
}

#[test]
fn tampered_nitro_documents_in_a_receipt_are_refused() {
    let ca = mint::TestCa::new();
    let f = nitro_fixture(&ca);
    let o = nitro_options(&f, &ca);
    let reason = |r: &Receipt| {
        let e = refusal(r, &o);
        assert_eq!(e.check, "attestations", "{e}");
        e.reason
    };

    // One flipped signature byte (the last bytes of the document).
    let mut r = f.receipt.clone();
    let doc = document_of(&mut r, 0);
    let last = doc.len() - 1;
    doc[last] ^= 1;
    assert!(
        reason(&r).contains("signature does not verify"),
        "{}",
        reason(&r)
    );

    // One flipped payload byte: a PCR value (a run of 0xa2) changed.
    let mut r = f.receipt.clone();
    let doc = document_of(&mut r, 1);
    let at = doc
        .windows(48)
        .position(|w| w.iter().all(|&b| b == 0xa2))
        .unwrap();
    doc[at] = 0xa3;
    assert!(
        reason(&r).contains("signature does not verify"),
        "{}",
        reason(&r)
    );

    // Another enclave's genuine document does not bind this enclave's keys.
    let mut r = f.receipt.clone();
    let other = document_of(&mut r, 2).clone();
    *document_of(&mut r, 0) = other;
    assert!(
        reason(&r).contains("key binding mismatch"),
        "{}",
        reason(&r)
    );

    // A document dated after its leaf certificate expired.
    let mut r = f.receipt.clone();
    let Attestation::Nitro(n) = &r.enclaves[0].attestation else {
        unreachable!()
    };
    let binding = verity_crypto::nitro::key_binding(
        "enclave-1",
        &n.signing_key.clone().try_into().unwrap(),
        &n.encryption_key.clone().try_into().unwrap(),
    );
    *document_of(&mut r, 0) = ca.document(&mint::Claims {
        leaf_validity: Some((MINTED_AT - 7_200_000, MINTED_AT - 1_000)),
        ..nitro_claims(&binding)
    });
    assert!(reason(&r).contains("is valid from"), "{}", reason(&r));

    // All-zero PCRs (a debug enclave) pass when not judged, flagged; an
    // allow-list without the debug allowance refuses them.
    let mut r = f.receipt.clone();
    *document_of(&mut r, 0) = ca.document(&mint::Claims {
        pcrs: [0, 0, 0],
        ..nitro_claims(&binding)
    });
    let mut seen = Vec::new();
    verify_receipt(&r, &o, |c| seen.push(c.clone())).unwrap();
    assert!(seen[1].detail.contains("DEBUG MODE"), "{:?}", seen[1]);
    let strict = VerifyOptions {
        nitro_pcrs: Some(PcrPolicy::default()),
        ..nitro_options(&f, &ca)
    };
    let e = refusal(&r, &strict);
    assert!(e.reason.contains("debug-mode"), "{e}");

    // A report claiming nitro for an enclave attested only as dev.
    let dev = fixture();
    let mut r = dev.receipt.clone();
    let keys = &dev.enclave_keys[0];
    r.enclave_reports[0] = keys.sign_report(EnclaveReport {
        attestation: AttestationKind::Nitro,
        ..r.enclave_reports[0].report.clone()
    });
    let e = refusal(&r, &options(&dev));
    assert_eq!(e.check, "enclave-signatures", "{e}");
    assert!(e.reason.contains("claims a nitro attestation"), "{e}");
}

#[test]
fn a_real_aws_document_checks_against_the_pinned_root_as_of_its_time() {
    // A genuine document from AWS hardware (2024) in a receipt: the chain to
    // the pinned root holds as of its own timestamp and its signature
    // verifies, so what refuses it is that it binds other keys, not its age.
    let f = fixture();
    let mut r = f.receipt.clone();
    let keys = f.enclave_keys[0].public();
    r.enclaves[0].attestation = Attestation::Nitro(NitroAttestation {
        signing_key: keys.signing.to_vec(),
        encryption_key: keys.encryption.to_vec(),
        document: std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../crypto/tests/fixtures/nitro/sui_2024-11-14_debug_pcr34.cose"
        ))
        .unwrap(),
    });
    let e = refusal(&r, &options(&f));
    assert_eq!(e.check, "attestations");
    assert!(e.reason.contains("key binding mismatch"), "{e}");
    // The same document with one signature byte flipped fails earlier.
    let Attestation::Nitro(n) = &mut r.enclaves[0].attestation else {
        unreachable!()
    };
    let last = n.document.len() - 1;
    n.document[last] ^= 1;
    let e = refusal(&r, &options(&f));
    assert!(e.reason.contains("signature does not verify"), "{e}");
}
