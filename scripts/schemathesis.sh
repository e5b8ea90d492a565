#!/usr/bin/env bash
# API schema testing: generates requests from the server's own OpenAPI
# description (`/api/openapi.json`) with schemathesis and checks that no
# response is a 5xx and that every response (status, content type, body)
# matches the description. Starts `verity serve` on a free loopback port with
# a temporary data directory, stops it afterwards; exits non-zero on any
# failure.
#
#   scripts/schemathesis.sh [MAX_EXAMPLES]     (default 25 per operation)
#
# Environment:
#   VERITY_BIN          the binary (default target/debug/verity; built when missing)
#   SCHEMATHESIS_VENV   where schemathesis is installed (default target/schemathesis-venv)
#   SCHEMATHESIS_SEED   the data generation seed (default 1: reproducible)
#   ARTIFACTS           reports and the server log (default target/schemathesis)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

max_examples="${1:-25}"
bin="${VERITY_BIN:-$root/target/debug/verity}"
venv="${SCHEMATHESIS_VENV:-$root/target/schemathesis-venv}"
artifacts="${ARTIFACTS:-$root/target/schemathesis}"
mkdir -p "$artifacts"

if [[ ! -x "$venv/bin/schemathesis" ]]; then
    echo "== installing schemathesis into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis==4.32.5"
fi
"$venv/bin/schemathesis" --version

if [[ ! -x "$bin" ]]; then
    cargo build -q -p verity-cli --bin verity
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
log="$artifacts/verity-serve.log"
# A known admin token, so that the admin operations are reached past the bearer check.
token="schemathesis-admin-token"

echo "== starting verity serve on 127.0.0.1:$port (data in $data)"
VERITY_ADDR=127.0.0.1:$port VERITY_DATA_DIR=$data VERITY_ADMIN_TOKEN=$token \
    RUST_LOG=info,tower_http=warn,sqlx=warn "$bin" serve >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

url=http://127.0.0.1:$port
deadline=$((SECONDS + 60))
until curl -fsS "$url/health" >/dev/null 2>&1; do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "verity serve exited before answering /health:"
        cat "$log"
        exit 1
    fi
    if ((SECONDS > deadline)); then
        echo "verity serve did not answer /health within 60 s:"
        cat "$log"
        exit 1
    fi
    sleep 0.2
done

echo "== schemathesis against $url/api/openapi.json ($max_examples examples per operation)"
status=0
# The SSE stream never ends by design; it is checked by the black-box tests.
"$venv/bin/schemathesis" run "$url/api/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$max_examples" \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    --workers 1 \
    --request-timeout 10 \
    --exclude-path-regex '/events$' \
    --header "Authorization: Bearer $token" \
    --report junit --report-dir "$artifacts" \
    --suppress-health-check all \
    --warnings off || status=$?

if ! kill -0 "$server" 2>/dev/null; then
    echo "verity serve died during the run:"
    tail -n 50 "$log"
    status=1
fi
if ((status != 0)); then
    echo "== server log (last 50 lines)"
    tail -n 50 "$log"
fi
exit "$status"
