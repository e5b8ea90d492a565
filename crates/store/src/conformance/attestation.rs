//! The [`AttestationStore`] contract: call [`attestation_contract`] with a
//! fresh, empty store.

use serde_json::json;
use verity_core::AttestationKind;

use crate::attestation::{AttestationRecord, AttestationStore, NonceStatus};

fn record(id: &str, kind: AttestationKind, verified_at_ms: u64) -> AttestationRecord {
    AttestationRecord {
        enclave_id: id.parse().unwrap(),
        kind,
        signing_key: vec![7; 32],
        document: "{\"kind\":\"nitro\"}".into(),
        measurements: json!({ "pcr0": "ab".repeat(48), "debug": false }),
        pcr0: Some("ab".repeat(48)),
        document_ms: verified_at_ms - 5,
        verified_at_ms,
        expires_at_ms: verified_at_ms + 1000,
        revoked_at_ms: None,
        revoke_reason: None,
    }
}

/// Runs every check against `store` (fresh and empty).
pub async fn attestation_contract(store: &dyn AttestationStore) {
    let e1: verity_core::EnclaveId = "e1".parse().unwrap();
    assert_eq!(store.attestation(&e1).await.unwrap(), None);
    assert!(store.attestations().await.unwrap().is_empty());
    assert!(
        !store.revoke_attestation(&e1, 10, "absent").await.unwrap(),
        "revoking nothing is false"
    );

    let first = record("e1", AttestationKind::Nitro, 1_000);
    store.save_attestation(&first).await.unwrap();
    store
        .save_attestation(&AttestationRecord {
            pcr0: None,
            measurements: json!({}),
            ..record("e0", AttestationKind::DevInsecure, 2_000)
        })
        .await
        .unwrap();
    assert_eq!(store.attestation(&e1).await.unwrap(), Some(first.clone()));
    let all = store.attestations().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|r| r.enclave_id.as_str())
            .collect::<Vec<_>>(),
        ["e0", "e1"],
        "ordered by enclave id"
    );
    assert_eq!(all[0].kind, AttestationKind::DevInsecure);
    assert_eq!(all[0].pcr0, None);
    assert!(first.is_valid_at(1_500));
    assert!(!first.is_valid_at(2_000), "expired at expires_at_ms");

    assert!(
        store
            .revoke_attestation(&e1, 1_200, "PCR0 no longer allowed")
            .await
            .unwrap()
    );
    assert!(
        !store.revoke_attestation(&e1, 1_300, "again").await.unwrap(),
        "a revocation is recorded once"
    );
    let revoked = store.attestation(&e1).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at_ms, Some(1_200));
    assert_eq!(
        revoked.revoke_reason.as_deref(),
        Some("PCR0 no longer allowed")
    );
    assert!(!revoked.is_valid_at(1_250));

    // Renewal replaces the record and clears the revocation.
    let renewed = AttestationRecord {
        signing_key: vec![9; 32],
        ..record("e1", AttestationKind::Nitro, 5_000)
    };
    store.save_attestation(&renewed).await.unwrap();
    let got = store.attestation(&e1).await.unwrap().unwrap();
    assert_eq!(got, renewed);
    assert!(got.is_valid_at(5_500));

    nonce_contract(store).await;
}

/// Nonces: issued once, spent once, expire, pruned.
async fn nonce_contract(store: &dyn AttestationStore) {
    let e1: verity_core::EnclaveId = "e1".parse().unwrap();
    let e2: verity_core::EnclaveId = "e2".parse().unwrap();
    let (a, b, c) = ([1u8; 32], [2u8; 32], [3u8; 32]);
    assert_eq!(
        store.nonce_status(&a, 0).await.unwrap(),
        NonceStatus::Unknown
    );
    assert_eq!(
        store.consume_nonce(&a, &e1, 0).await.unwrap(),
        NonceStatus::Unknown,
        "a nonce never issued cannot be spent"
    );
    store.issue_nonce(&a, 1_000, 2_000).await.unwrap();
    store.issue_nonce(&b, 1_000, 2_000).await.unwrap();
    store.issue_nonce(&c, 1_000, 9_000).await.unwrap();
    assert!(
        store.issue_nonce(&a, 1_000, 2_000).await.is_err(),
        "a nonce is issued once"
    );
    assert_eq!(
        store.nonce_status(&a, 1_500).await.unwrap(),
        NonceStatus::Fresh
    );
    assert_eq!(
        store.consume_nonce(&a, &e1, 1_500).await.unwrap(),
        NonceStatus::Fresh,
        "spent now"
    );
    let used = NonceStatus::Used {
        used_at_ms: 1_500,
        used_by: Some("e1".into()),
    };
    assert_eq!(store.nonce_status(&a, 1_600).await.unwrap(), used);
    assert_eq!(
        store.consume_nonce(&a, &e2, 1_600).await.unwrap(),
        used,
        "a replay is refused and names the first use"
    );
    assert_eq!(
        store.consume_nonce(&b, &e1, 2_000).await.unwrap(),
        NonceStatus::Expired {
            expires_at_ms: 2_000
        },
        "a nonce is dead at its expiry"
    );
    assert_eq!(
        store.nonce_status(&b, 2_500).await.unwrap(),
        NonceStatus::Expired {
            expires_at_ms: 2_000
        }
    );
    assert_eq!(store.prune_nonces(3_000).await.unwrap(), 2, "a and b");
    assert_eq!(
        store.nonce_status(&a, 3_000).await.unwrap(),
        NonceStatus::Unknown
    );
    assert_eq!(
        store.nonce_status(&c, 3_000).await.unwrap(),
        NonceStatus::Fresh
    );
    assert_eq!(
        store.consume_nonce(&c, &e2, 3_000).await.unwrap(),
        NonceStatus::Fresh
    );
}
