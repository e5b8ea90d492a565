//! Black-box tests: the real `verity` binary, real HTTP, a temporary data
//! directory per server. Compiled as one test binary.

mod anchoring;
mod attestation;
mod bad_input;
mod detection;
mod disputes;
mod harness;
mod ledger;
mod pipeline;
mod recovery;
mod reliability;
mod web;
