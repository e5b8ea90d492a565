//! The attestation service on a real SQLite store: reports need a current
//! attestation binding their key; a PCR allow-list reload revokes Nitro
//! enclaves whose measurements are no longer allowed.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use verity_core::{AttestationKind, EnclaveId};
use verity_crypto::{Attestation, DevAttestation, EnclaveKeys};
use verity_node::{AttestationConfig, AttestationMode, AttestationService};
use verity_store::{
    AttestationRecord, AttestationStore, OracleRegistration, Repository, SqliteAttestations,
    SqliteDb, SqliteRepository, now_ms,
};

struct Fixture {
    _dir: tempfile::TempDir,
    repo: Arc<dyn Repository>,
    store: Arc<dyn AttestationStore>,
    pcr_file: std::path::PathBuf,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("verity.db"), false)
        .await
        .unwrap();
    let pcr_file = dir.path().join("pcrs.json");
    Fixture {
        repo: Arc::new(SqliteRepository::new(db.clone())),
        store: Arc::new(SqliteAttestations::new(db)),
        pcr_file,
        _dir: dir,
    }
}

fn service(f: &Fixture, mode: AttestationMode) -> AttestationService {
    AttestationService::new(
        AttestationConfig {
            mode,
            pcr_file: Some(f.pcr_file.clone()),
            max_age: Duration::from_secs(300),
            ttl: Duration::from_secs(3600),
            admin_token: None,
            ..AttestationConfig::default()
        },
        f.repo.clone(),
        f.store.clone(),
        1000,
        0.8,
    )
    .unwrap()
}

fn allow(f: &Fixture, pcr0s: &[&str]) {
    let allowed: Vec<_> = pcr0s
        .iter()
        .map(|p| json!({"pcr0": p.repeat(48), "pcr1": "11".repeat(48), "pcr2": "22".repeat(48)}))
        .collect();
    std::fs::write(&f.pcr_file, json!({ "allowed": allowed }).to_string()).unwrap();
}

/// A Nitro enclave as a successful registration leaves it (the document
/// itself cannot be minted here: only AWS hardware signs them).
async fn nitro_enclave(f: &Fixture, id: &str, pcr0: &str) -> verity_core::Oracle {
    let keys = EnclaveKeys::generate().public();
    let id: EnclaveId = id.parse().unwrap();
    let oracle = f
        .repo
        .register_oracle(&OracleRegistration {
            enclave_id: id.clone(),
            signing_key: keys.signing.to_vec(),
            encryption_key: keys.encryption.to_vec(),
            attestation_kind: AttestationKind::Nitro,
            attestation: "{}".into(),
            initial_stake: 1000,
            initial_reputation: 0.8,
        })
        .await
        .unwrap();
    let now = now_ms();
    f.store
        .save_attestation(&AttestationRecord {
            enclave_id: id,
            kind: AttestationKind::Nitro,
            signing_key: keys.signing.to_vec(),
            document: "{}".into(),
            measurements: json!({
                "pcr0": pcr0.repeat(48), "pcr1": "11".repeat(48), "pcr2": "22".repeat(48),
                "pcr8": "00".repeat(48), "debug": false, "moduleId": "i-0-enc0",
            }),
            pcr0: Some(pcr0.repeat(48)),
            document_ms: now,
            verified_at_ms: now,
            expires_at_ms: now + 3_600_000,
            revoked_at_ms: None,
            revoke_reason: None,
        })
        .await
        .unwrap();
    oracle
}

#[tokio::test]
async fn reloading_the_allow_list_revokes_enclaves_it_no_longer_allows() {
    let f = fixture().await;
    allow(&f, &["aa", "bb"]);
    let svc = service(&f, AttestationMode::Nitro);
    let old = nitro_enclave(&f, "enclave-old", "aa").await;
    let new = nitro_enclave(&f, "enclave-new", "bb").await;
    svc.check_reporter(&old).await.unwrap();
    svc.check_reporter(&new).await.unwrap();

    // Image "aa" is withdrawn.
    allow(&f, &["bb"]);
    let outcome = svc.reload().await.unwrap();
    assert_eq!(outcome.allowed_sets, 1);
    assert_eq!(
        outcome.revoked,
        vec!["enclave-old".parse::<EnclaveId>().unwrap()]
    );
    let err = svc.check_reporter(&old).await.unwrap_err();
    assert_eq!(err.code, "attestation_revoked");
    assert!(err.message.contains("PCR0"), "{}", err.message);
    svc.check_reporter(&new).await.unwrap();
    assert!(!svc.is_attested(&old).await.unwrap());
    let record = f.store.attestation(&old.enclave_id).await.unwrap().unwrap();
    assert!(
        record
            .revoke_reason
            .unwrap()
            .contains("PCR allow-list reloaded")
    );

    // A second reload revokes nothing new; a broken file keeps the old list.
    assert!(svc.reload().await.unwrap().revoked.is_empty());
    std::fs::write(&f.pcr_file, "{not json").unwrap();
    assert_eq!(svc.reload().await.unwrap_err().code, "bad_pcr_policy");
    assert_eq!(svc.pcr_policy().allowed.len(), 1);
}

#[tokio::test]
async fn nitro_mode_refuses_dev_registrations_and_dev_reporters() {
    let f = fixture().await;
    allow(&f, &["aa"]);
    let keys = EnclaveKeys::generate();
    let id: EnclaveId = "enclave-1".parse().unwrap();
    let dev = Attestation::Dev(DevAttestation::issue(&id, &keys, now_ms()));

    // Registered while the aggregator ran in dev mode…
    let dev_svc = service(&f, AttestationMode::Dev);
    let registered = dev_svc.register(&id, &dev).await.unwrap();
    assert_eq!(registered.record.kind, AttestationKind::DevInsecure);
    assert_eq!(registered.oracle.attestation, AttestationKind::DevInsecure);
    dev_svc.check_reporter(&registered.oracle).await.unwrap();

    // …then restarted in nitro mode: neither registration nor reports pass.
    let nitro_svc = service(&f, AttestationMode::Nitro);
    let err = nitro_svc.register(&id, &dev).await.unwrap_err();
    assert_eq!(err.code, "attestation_kind_refused");
    let err = nitro_svc
        .check_reporter(&registered.oracle)
        .await
        .unwrap_err();
    assert_eq!(err.code, "attestation_kind_refused");
}

#[tokio::test]
async fn a_key_swapped_behind_the_attestation_is_not_attested() {
    let f = fixture().await;
    allow(&f, &["aa"]);
    let svc = service(&f, AttestationMode::Nitro);
    let mut oracle = nitro_enclave(&f, "enclave-1", "aa").await;
    svc.check_reporter(&oracle).await.unwrap();
    // The oracle's key changed without a new attestation (e.g. a dev
    // re-registration written by an older node): fail closed.
    oracle.signing_key = vec![9; 32];
    assert_eq!(
        svc.check_reporter(&oracle).await.unwrap_err().code,
        "unattested_enclave"
    );
    let unknown = verity_core::Oracle {
        enclave_id: "enclave-2".parse().unwrap(),
        ..oracle
    };
    assert_eq!(
        svc.check_reporter(&unknown).await.unwrap_err().code,
        "unattested_enclave"
    );
}

#[tokio::test]
async fn of_two_registrations_racing_for_one_nonce_exactly_one_wins() {
    let f = fixture().await;
    allow(&f, &["aa"]);
    let svc = service(&f, AttestationMode::Dev);
    for round in 0..10 {
        let issued = svc.issue_nonce().await.unwrap();
        let nonce = hex::decode(&issued.nonce).unwrap();
        assert!(issued.expires_at_ms > issued.issued_at_ms);
        let answer = |id: String| {
            let id: EnclaveId = id.parse().unwrap();
            let statement = DevAttestation::answering(
                &id,
                &EnclaveKeys::generate(),
                now_ms(),
                Some(nonce.clone()),
            );
            (id, Attestation::Dev(statement))
        };
        let (a, b) = (answer(format!("a-{round}")), answer(format!("b-{round}")));
        let (ra, rb) = tokio::join!(svc.register(&a.0, &a.1), svc.register(&b.0, &b.1));
        let codes: Vec<&str> = [&ra, &rb]
            .iter()
            .map(|r| r.as_ref().map_or_else(|e| e.code, |_| "ok"))
            .collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, ["attestation_nonce_used", "ok"], "{codes:?}");
    }
}
