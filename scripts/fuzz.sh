#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), one after the
# other, and fails on the first crash, leak, timeout or out-of-memory.
#
#   scripts/fuzz.sh [SECONDS]
#
# Environment:
#   FUZZ_TARGETS    space-separated targets to run (default: all, `cargo fuzz list`)
#   FUZZ_SANITIZER  none (default: catches panics, arithmetic overflow, debug
#                   assertions, hangs and runaway memory) or address (also memory
#                   errors in unsafe code and C; slower build and runs)
#   VERITY_FIXTURES the shared fixtures folder used as extra seeds when present
#                   (default ../shared/fixtures)
#
# cargo-fuzz needs unstable compiler flags (-Z sanitizer, sancov passes); the
# stable toolchain accepts them with RUSTC_BOOTSTRAP=1, so no nightly is
# needed. Inputs that grow coverage are kept in fuzz/corpus/<target> (ignored
# by git; later runs start from them); crashes land in fuzz/artifacts/<target>
# and are reproduced with `cargo fuzz run <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"
fixtures="${VERITY_FIXTURES:-../shared/fixtures}"
export RUSTC_BOOTSTRAP=1
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --version 0.13.2 --locked
fi

# Seeds per target: folders (read-only for libFuzzer) and the largest input.
seeds_for() {
    local dirs=("fuzz/seeds/$1")
    case "$1" in
        media | metadata | c2pa)
            dirs+=(crates/detect/tests/fixtures/metadata crates/detect/tests/fixtures/c2pa
                crates/detect/tests/fixtures/bad crates/detect/tests/fixtures/watermark
                crates/cli/tests/fixtures)
            [ -d "$fixtures/media" ] && dirs+=("$fixtures"/media/*/)
            ;;
        nitro)
            dirs+=(crates/crypto/tests/fixtures/nitro)
            [ -d "$fixtures/attestation" ] && dirs+=("$fixtures/attestation")
            ;;
    esac
    for d in "${dirs[@]}"; do
        [ -d "$d" ] && printf '%s\n' "$d"
    done
}

max_len_for() {
    case "$1" in
        media | metadata | c2pa) echo 262144 ;;
        nitro) echo 20000 ;;
        *) echo 65536 ;;
    esac
}

targets="${FUZZ_TARGETS:-$(cargo fuzz list)}"

echo "== building fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

failed=()
for t in $targets; do
    mkdir -p "fuzz/corpus/$t"
    mapfile -t seeds < <(seeds_for "$t")
    echo "== fuzz $t for ${seconds}s (seeds: ${seeds[*]})"
    if ! cargo fuzz run --sanitizer "$sanitizer" "$t" "fuzz/corpus/$t" "${seeds[@]}" -- \
        -max_total_time="$seconds" -max_len="$(max_len_for "$t")" -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzzing failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing passed: $targets"
