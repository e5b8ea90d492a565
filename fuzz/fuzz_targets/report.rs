//! Report decoding and signature verification: any bytes as a signed
//! enclave report and as a final report (JSON, as the API and receipts carry
//! them), verified against fixed keys; whatever decodes is also re-signed,
//! sent through JSON again and must still verify, bit for bit.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verity_core::{FinalReport, SignedReport};
use verity_crypto::{AggregatorKey, EnclaveKeys, verify_final_report, verify_report};

static KEYS: OnceLock<(EnclaveKeys, AggregatorKey)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (enclave, aggregator) = KEYS.get_or_init(|| {
        (
            EnclaveKeys::from_secrets([1; 32], [2; 32]),
            AggregatorKey::generate(),
        )
    });
    if let Ok(signed) = serde_json::from_slice::<SignedReport>(data) {
        let key = enclave.public().signing;
        let _ = verify_report(&key, &signed);
        let resigned = enclave.sign_report(signed.report);
        let json = serde_json::to_vec(&resigned).expect("a report serializes");
        let back: SignedReport = serde_json::from_slice(&json).expect("a serialized report parses");
        assert_eq!(back, resigned);
        verify_report(&key, &back).expect("a report signed with this key verifies after JSON");
    }
    if let Ok(mut report) = serde_json::from_slice::<FinalReport>(data) {
        let _ = verify_final_report(&report, None);
        let _ = verify_final_report(&report, Some(&aggregator.public()));
        aggregator.sign_final(&mut report);
        let json = serde_json::to_vec(&report).expect("a final report serializes");
        let back: FinalReport =
            serde_json::from_slice(&json).expect("a serialized final report parses");
        assert_eq!(back, report);
        verify_final_report(&back, Some(&aggregator.public()))
            .expect("a final report signed with this key verifies after JSON");
    }
});
