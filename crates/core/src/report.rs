//! What enclaves sign and what the aggregator publishes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::canonical;
use crate::committee::CommitteeSelection;
use crate::ids::{EnclaveId, JobId, Sha256Digest};
use crate::oracle::AttestationKind;
use crate::verdict::{Confidence, DetectorVerdict, Verdict};

/// One detector's result inside an enclave report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectorResult {
    /// Detector name, e.g. `xmp-digital-source-type` or a model slot such as `primary`.
    pub name: String,
    /// Detector (or model) version.
    pub version: String,
    /// What it concluded.
    pub verdict: DetectorVerdict,
    /// How sure it is.
    pub confidence: Confidence,
    /// Evidence a person can read.
    #[serde(default)]
    pub evidence: Vec<String>,
}

/// The report an enclave signs for one job round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnclaveReport {
    /// The job.
    pub job_id: JobId,
    /// The job round (0 first, +1 per re-verification).
    pub round: u32,
    /// The signer.
    pub enclave_id: EnclaveId,
    /// SHA-256 of the decrypted media the enclave analysed.
    pub media_sha256: Sha256Digest,
    /// The enclave's ensemble verdict.
    pub verdict: Verdict,
    /// The ensemble's confidence.
    pub confidence: Confidence,
    /// Every detector's result, with versions.
    pub detectors: Vec<DetectorResult>,
    /// How the enclave's key is attested.
    pub attestation: AttestationKind,
    /// When the report was made (Unix milliseconds).
    pub timestamp_ms: u64,
}

impl EnclaveReport {
    /// The domain-separated bytes the enclave's Ed25519 key signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        canonical::enclave_report_bytes(self)
    }

    /// SHA-256 of [`Self::signing_bytes`]: the report's identity in final reports.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest::of(&self.signing_bytes())
    }
}

/// An enclave report with its Ed25519 signature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedReport {
    /// The signed content.
    pub report: EnclaveReport,
    /// Ed25519 signature over `report.signing_bytes()`, hex.
    #[serde(with = "hex_bytes")]
    pub signature: Vec<u8>,
    /// Optional second Ed25519 signature by the same key in the Sui Nautilus
    /// layout (`bcs(IntentMessage { intent: 0, timestamp_ms, VerityReport })`,
    /// see `verity_crypto::nautilus`), so the report can be checked on chain; hex.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "hex_bytes_opt"
    )]
    pub nautilus_signature: Option<Vec<u8>>,
}

/// A piece of evidence carried into the final report.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvidenceItem {
    /// The detector that found it.
    pub detector: String,
    /// What it found, in words.
    pub message: String,
}

/// One counted vote, with everything needed to recompute its weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Vote {
    /// The voting enclave.
    pub enclave_id: EnclaveId,
    /// Its verdict.
    pub verdict: Verdict,
    /// Its confidence.
    pub confidence: Confidence,
    /// Reputation when the vote was counted.
    pub reputation: f64,
    /// Stake when the vote was counted.
    pub stake: u64,
    /// `reputation × sqrt(stake / 100)`.
    pub weight: f64,
    /// Digest of the signed enclave report.
    pub report_digest: Sha256Digest,
    /// How the enclave's key is attested.
    pub attestation: AttestationKind,
}

/// How the consensus was reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsensusMetadata {
    /// Winning weight / total weight, in [0, 1].
    pub agreement_rate: f64,
    /// Number of counted reports.
    pub participating_enclaves: u32,
    /// When consensus was computed (Unix milliseconds).
    pub consensus_timestamp: u64,
    /// The threshold the agreement rate had to reach.
    pub threshold: f64,
    /// Whether it did; below it the verdict is low-confidence only.
    pub threshold_met: bool,
    /// Minimum number of distinct enclaves required.
    pub min_enclaves: u32,
    /// True when the top verdicts tied and the result fell back to `UNCERTAIN`.
    pub tie: bool,
    /// Every counted vote.
    pub votes: Vec<Vote>,
}

/// Per-detector summary across the counted reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelSummary {
    /// Weighted majority of the detector's verdicts across enclaves.
    pub verdict: DetectorVerdict,
    /// Weighted mean confidence of the enclaves that agree with `verdict`.
    pub confidence: Confidence,
    /// Version(s) reported, joined with `,` when enclaves differ.
    pub version: String,
}

/// The aggregator's signed result for one job round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinalReport {
    /// The job.
    pub job_id: JobId,
    /// The round this report decides.
    pub round: u32,
    /// The consensus verdict.
    pub verdict: Verdict,
    /// `agreementRate ×` the weighted mean confidence of the winning votes.
    pub confidence: Confidence,
    /// How the verdict was reached.
    pub consensus_metadata: ConsensusMetadata,
    /// Per-detector summaries, keyed by detector name.
    pub models: BTreeMap<String, ModelSummary>,
    /// Evidence from the winning votes.
    pub evidence: Vec<EvidenceItem>,
    /// SHA-256 of the media.
    pub media_sha256: Sha256Digest,
    /// How the round's committee was chosen (eligible candidates and their
    /// weights, rule, seed, members), so anyone can recompute it. Absent only
    /// in reports of rounds queued before it was recorded (signed as v1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committee: Option<CommitteeSelection>,
    /// SHA-256 of the canonical bytes of this report (without the signature).
    pub report_digest: Sha256Digest,
    /// Ed25519 signature of the aggregator over the canonical bytes, hex.
    #[serde(with = "hex_bytes")]
    pub aggregator_signature: Vec<u8>,
    /// The aggregator's Ed25519 public key, hex.
    #[serde(with = "hex_bytes")]
    pub aggregator_key: Vec<u8>,
}

impl FinalReport {
    /// The domain-separated bytes the aggregator signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        canonical::final_report_bytes(self)
    }
}

/// Lowercase hex of `bytes` (how keys and signatures appear in JSON).
pub fn hex_encode(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// Hex encoding for byte strings in JSON.
/// Serde for an optional hex byte string (absent or null: `None`).
pub mod hex_bytes_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes lowercase hex (callers skip `None`).
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_str(&hex::encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads hex of any case, or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| hex::decode(text).map_err(serde::de::Error::custom))
            .transpose()
    }
}

pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes lowercase hex.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    /// Reads hex of any case.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        hex::decode(text).map_err(serde::de::Error::custom)
    }
}
