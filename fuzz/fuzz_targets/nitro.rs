//! The AWS Nitro attestation document parser and verifier: any bytes as a
//! COSE_Sign1 document, decoded for display and verified against the AWS
//! root (debug enclaves allowed, no freshness window), as the node does when
//! an enclave registers.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use verity_crypto::nitro::{NitroExpectations, decode_unverified, verify_document};
use verity_crypto::{NitroRoot, PcrPolicy};

static ROOT: OnceLock<NitroRoot> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let root = ROOT.get_or_init(NitroRoot::aws);
    let decoded = decode_unverified(data);
    let policy = PcrPolicy {
        allowed: vec![],
        allow_debug: true,
    };
    let expect = NitroExpectations {
        root,
        pcrs: &policy,
        now_ms: 1_731_627_989_450,
        max_age_ms: None,
        chain_time_ms: None,
        nonce: None,
        key_binding: None,
    };
    let verified = verify_document(data, &expect);
    if let Ok(v) = &verified {
        assert_eq!(decoded.as_ref().ok(), Some(&v.document));
        assert!(v.debug, "only debug enclaves are allowed by this policy");
    }
    if let Err(e) = &verified {
        assert!(!e.code().is_empty());
    }
});
