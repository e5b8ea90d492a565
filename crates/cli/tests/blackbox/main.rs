//! Black-box tests: the real `verity` binary, real HTTP, a temporary data
//! directory per server. Compiled as one test binary.

mod bad_input;
mod detection;
mod harness;
mod pipeline;
mod recovery;
