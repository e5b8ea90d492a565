#!/usr/bin/env bash
# Side-by-side benchmarks: every figure next to its anchor, in one run.
#
#   scripts/bench.sh            # full run (about 10-15 min on 2 cores, after the build)
#   scripts/bench.sh --quick    # CI-size run (about 3-5 min after the build)
#
# Runs, each under a time limit:
#   1. consensus + verification per job (criterion)   vs the seed's ~5 s
#   2. end-to-end upload→verdict, 1 and 3 enclaves     vs the seed's ~15 s and ~20 s
#      (embedded `verity serve` + `verity-load` at a low fixed rate)
#   3. queue fan-out, Redis Streams vs BullMQ           on the same Redis, same run
#   4. detector latency per detector on 1024² images   (if crates/detect/benches/detectors.rs exists)
#   5. transparency-log appends/s                       (crates/node/benches/ledger.rs)
#   6. distributed cluster jobs/s, p50/p99              (if PostgreSQL, Redis and moto are up)
# then writes docs/bench.svg and the results table into docs/PERFORMANCE.md
# (between the `bench:begin` / `bench:end` markers). A step whose engine is
# missing is skipped with a message; the others still run.
#
# Environment: CARGO_BUILD_JOBS, RUSTC_WRAPPER as usual; BENCH_OUT (raw
# outputs, default target/bench); BENCH_NO_DOCS=1 to leave docs/ alone;
# BENCH_PROFILE=dev for unoptimised builds (quick to build, slow to run: the
# figures are then lower bounds and the table says so). Cargo runs with
# --workspace so features resolve as in the workspace build (no dependency
# rebuilt for a different feature set).
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
[[ "${1:-}" == "--quick" ]] && quick=1
out=${BENCH_OUT:-target/bench}
rm -rf "$out" && mkdir -p "$out"
if ((quick)); then
  crit="--warm-up-time 1 --measurement-time 2"; e2e_secs=20; queue_jobs=1000; ledger_entries=5000; cluster_jobs=60; step_limit=300
else
  crit="--warm-up-time 1 --measurement-time 5"; e2e_secs=60; queue_jobs=5000; ledger_entries=20000; cluster_jobs=200; step_limit=600
fi

step() { echo; echo "== $*"; }
# Runs a step under the time limit; its output goes to the terminal and to $out/NAME.txt.
run() {
  local name=$1; shift
  timeout --signal=INT --kill-after=10 "$step_limit" "$@" 2>&1 | tee "$out/$name.txt"
  local rc=${PIPESTATUS[0]}
  ((rc == 0)) || echo "($name: exit status $rc)" | tee -a "$out/$name.txt"
}

profile=${BENCH_PROFILE:-release}
bin=target/$([[ $profile == dev ]] && echo debug || echo "$profile")
cb=(cargo bench --workspace --profile "$profile" --bench)
echo "{\"quick\": $quick, \"profile\": \"$profile\", \"date\": \"$(date -u +%FT%TZ)\", \"cores\": $(nproc), \"load\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >"$out/meta.json"

step "building ($profile)"
cargo build --workspace --profile "$profile" --bin verity --bin verity-load || { echo "build failed"; exit 1; }

step "1. consensus + verification per job (seed: ~5 s)"
run crypto "${cb[@]}" crypto -- aggregate $crit
run consensus "${cb[@]}" consensus -- consensus/3_reports $crit

step "2. end-to-end upload→verdict, embedded (seed: ~15 s one enclave, ~20 s three)"
e2e() {
  local enclaves=$1 port=$2 dir
  dir=$(mktemp -d)
  VERITY_DATA_DIR=$dir VERITY_ADDR=127.0.0.1:$port NUM_ENCLAVE_WORKERS=$enclaves RUST_LOG=warn \
    $bin/verity serve >"$out/serve-$enclaves.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
    sleep 0.2
  done
  # One upload every 500 ms: latency at light load, no queueing.
  run "e2e-$enclaves" $bin/verity-load --server "http://127.0.0.1:$port" --rate 2 \
    --duration "${e2e_secs}s" --grace 60s --server-pid "$pid" --progress 0s --json
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
e2e 1 3911
e2e 3 3913

step "3. queue fan-out: Redis Streams vs BullMQ, same Redis"
if redis-cli -p 6379 ping >/dev/null 2>&1 || (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  [[ -d scripts/node/node_modules/bullmq ]] || npm ci --prefix scripts/node >/dev/null 2>&1 || true
  JOBS=$queue_jobs run queue "${cb[@]}" queue_vs_bullmq
else
  echo "skipped: no Redis on 127.0.0.1:6379" | tee "$out/queue.txt"
fi

step "4. detector latency on 1024² images"
if [[ -f crates/detect/benches/detectors.rs ]]; then
  run detectors "${cb[@]}" detectors -- $crit
else
  echo "skipped: crates/detect/benches/detectors.rs is not in this tree" | tee "$out/detectors.txt"
fi

step "5. transparency-log appends/s"
ENTRIES=$ledger_entries run ledger "${cb[@]}" ledger

step "6. distributed cluster (api + 3 workers on PostgreSQL, Redis Streams, S3)"
JOBS=$cluster_jobs run cluster "${cb[@]}" cluster

step "report"
if [[ "${BENCH_NO_DOCS:-0}" == 1 ]]; then
  python3 scripts/bench_report.py "$out"
else
  python3 scripts/bench_report.py "$out" --svg docs/bench.svg --markdown docs/PERFORMANCE.md
fi
