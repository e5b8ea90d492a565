//! The [`BlobStore`] contract.

use bytes::Bytes;

use crate::StoreError;
use crate::blob::{BlobId, BlobStore};

/// Checks `store`: bytes round-trip, storing twice gives the same id,
/// `missing` (a well-formed id never stored) is `NotFound`, a malformed id is
/// refused, and `ping` answers.
pub async fn blob_contract(store: &dyn BlobStore, missing: &BlobId) {
    store.ping().await.unwrap();
    let payload = Bytes::from(format!("ciphertext {}", rand::random::<u64>()));
    let id = store.put(payload.clone()).await.unwrap();
    assert_eq!(store.get(&id).await.unwrap(), payload, "bytes round-trip");
    assert_eq!(
        store.put(payload.clone()).await.unwrap(),
        id,
        "same bytes, same id"
    );
    let other = store.put(Bytes::from_static(b"other bytes")).await.unwrap();
    assert_ne!(other, id);
    assert!(
        matches!(store.get(missing).await, Err(StoreError::NotFound(_))),
        "a missing blob is NotFound"
    );
    for bad in ["../../etc/passwd", "", "a/b"] {
        assert!(
            matches!(
                store.get(&BlobId(bad.into())).await,
                Err(StoreError::Invalid(_))
            ),
            "{bad:?} must be refused as malformed"
        );
    }
}
