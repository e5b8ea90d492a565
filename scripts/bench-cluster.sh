#!/usr/bin/env bash
# A local distributed Verity under fixed-rate load: `verity serve --role api`
# and three `verity worker` processes on PostgreSQL (127.0.0.1:5432, a fresh
# database), Redis Streams (127.0.0.1:6379, a spare database number) and a
# moto_server S3 on a free port, driven by `verity-load` with every process's
# memory watched. Everything it starts is stopped and dropped at the end.
#
#   scripts/bench-cluster.sh [VERITY_BIN] [LOADGEN_BIN] -- [verity-load options]
#   scripts/bench-cluster.sh target/release/verity target/release/verity-load -- --rate 20 --duration 2
set -uo pipefail
cd "$(dirname "$0")/.."
verity=${1:-target/release/verity}
load=${2:-target/release/verity-load}
shift 2 2>/dev/null || true
[[ "${1:-}" == "--" ]] && shift

dir=$(mktemp -d)
db=verity_bench_$$
port_api=$((20000 + $$ % 10000))
port_s3=$((port_api + 1))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  dropdb -h 127.0.0.1 -U postgres --if-exists "$db" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

createdb -h 127.0.0.1 -U postgres "$db" || { echo "skipped: no PostgreSQL on 127.0.0.1:5432"; exit 0; }
redis-cli -p 6379 ping >/dev/null 2>&1 || { echo "skipped: no Redis on 127.0.0.1:6379"; exit 0; }
command -v moto_server >/dev/null || { echo "skipped: no moto_server (scripts/ci-services.sh installs it)"; exit 0; }
moto_server -p "$port_s3" >"$dir/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port_s3" >/dev/null && break; sleep 0.1; done
curl -s -X PUT "http://127.0.0.1:$port_s3/verity-bench" >/dev/null

export VERITY_DB="postgres://postgres@127.0.0.1:5432/$db" VERITY_QUEUE="redis://127.0.0.1:6379/7" \
  VERITY_BLOBS="s3://verity-bench/media" AWS_ENDPOINT_URL="http://127.0.0.1:$port_s3" \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_ALLOW_HTTP=true \
  VERITY_DATA_DIR="$dir/data" RUST_LOG=warn
redis-cli -n 7 flushdb >/dev/null
VERITY_ADDR=127.0.0.1:$port_api "$verity" serve --role api >"$dir/api.log" 2>&1 &
api=$!
pids+=($api)
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port_api/health" >/dev/null && break; sleep 0.1; done
watch=(--server-pid "$api")
for e in enclave-1 enclave-2 enclave-3; do
  "$verity" worker --enclave-id "$e" --api "http://127.0.0.1:$port_api" >"$dir/$e.log" 2>&1 &
  pids+=($!)
  watch+=(--server-pid $!)
done
for _ in $(seq 300); do
  [[ $(curl -s "http://127.0.0.1:$port_api/api/oracles" | grep -o '"enclaveId"' | wc -l) -ge 3 ]] && break
  sleep 0.1
done
nice -n 5 "$load" --server "http://127.0.0.1:$port_api" "${watch[@]}" "$@"
rc=$?
((rc == 0)) || tail -n 20 "$dir/api.log"
exit $rc
