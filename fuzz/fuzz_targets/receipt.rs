//! Receipt decoding and verification: any bytes as a receipt (JSON), run
//! through every check of `verify_receipt`; whatever decodes must survive a
//! JSON round trip unchanged and verify the same way after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use verity_receipt::{Receipt, VerifyOptions, verify_receipt};

fuzz_target!(|data: &[u8]| {
    let Ok(receipt) = serde_json::from_slice::<Receipt>(data) else {
        return;
    };
    let options = VerifyOptions::default();
    let first = verify_receipt(&receipt, &options, |_| {});
    let json = serde_json::to_vec(&receipt).expect("a receipt serializes");
    let back: Receipt = serde_json::from_slice(&json).expect("a serialized receipt parses");
    assert_eq!(back, receipt);
    let second = verify_receipt(&back, &options, |_| {});
    assert_eq!(
        first, second,
        "verification changed after a JSON round trip"
    );
});
