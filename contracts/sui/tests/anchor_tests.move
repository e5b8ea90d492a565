#[test_only]
module verity::anchor_tests;

use std::string;
use sui::clock;
use sui::test_scenario as ts;
use verity::anchor::{Self, AnchorCap, Registry};
use verity::report;

const OPERATOR: address = @0xA;

#[test]
fun anchors_grow_and_keep_their_roots() {
    let mut scenario = ts::begin(OPERATOR);
    let cap = anchor::create(string::utf8(b"verity.local/log"), 0x1a2b3c4d, scenario.ctx());
    scenario.next_tx(OPERATOR);
    let mut registry = scenario.take_shared<Registry>();
    let clock = clock::create_for_testing(scenario.ctx());
    let root = x"0d19b4bd34b577ac6a518d42a56798d9a59ba90f72f20ec0dc5a8484c560ab8a";
    anchor::anchor(&mut registry, &cap, 57, root, &clock);
    assert!(anchor::latest_size(&registry) == 57);
    assert!(anchor::root(&registry, 57) == option::some(root));
    assert!(anchor::root(&registry, 56).is_none());
    assert!(anchor::log_key_id(&registry) == 0x1a2b3c4d);
    anchor::anchor(&mut registry, &cap, 60, root, &clock);
    assert!(anchor::latest_size(&registry) == 60);
    ts::return_shared(registry);
    clock.destroy_for_testing();
    transfer::public_transfer(cap, OPERATOR);
    scenario.end();
}

#[test, expected_failure(abort_code = anchor::ENotGrowing)]
fun an_anchor_never_goes_back() {
    let mut scenario = ts::begin(OPERATOR);
    let cap: AnchorCap = anchor::create(string::utf8(b"verity.local/log"), 1, scenario.ctx());
    scenario.next_tx(OPERATOR);
    let mut registry = scenario.take_shared<Registry>();
    let clock = clock::create_for_testing(scenario.ctx());
    let root = x"0000000000000000000000000000000000000000000000000000000000000000";
    anchor::anchor(&mut registry, &cap, 5, root, &clock);
    anchor::anchor(&mut registry, &cap, 5, root, &clock);
    abort 0
}

#[test, expected_failure(abort_code = anchor::EBadRoot)]
fun a_root_is_32_bytes() {
    let mut scenario = ts::begin(OPERATOR);
    let cap = anchor::create(string::utf8(b"verity.local/log"), 1, scenario.ctx());
    scenario.next_tx(OPERATOR);
    let mut registry = scenario.take_shared<Registry>();
    let clock = clock::create_for_testing(scenario.ctx());
    anchor::anchor(&mut registry, &cap, 1, x"00", &clock);
    abort 0
}

/// The same bytes as `verity_crypto::nautilus` tests (`move_layout_is_pinned`).
#[test]
fun report_bytes_match_the_rust_encoding() {
    let r = report::new(
        string::utf8(b"job_01jf0000000000000000000000"),
        1,
        string::utf8(b"enclave-1"),
        x"1111111111111111111111111111111111111111111111111111111111111111",
        2,
        9300,
        x"2222222222222222222222222222222222222222222222222222222222222222",
    );
    assert!(
        report::signed_bytes(r, 1744038900000) ==
        x"0020b1d110960100001e6a6f625f30316a6630303030303030303030303030303030303030303030010000000000000009656e636c6176652d31201111111111111111111111111111111111111111111111111111111111111111025424000000000000202222222222222222222222222222222222222222222222222222222222222222",
    );
}
