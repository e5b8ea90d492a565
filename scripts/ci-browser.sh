#!/usr/bin/env bash
# End-to-end browser tests of the web UI (scripts/browser/): installs Debian's
# Chromium and playwright-core when missing, builds and starts the real
# `verity serve` on a free port with a temporary data directory, runs the
# tests (node --test), and stops the server. Screenshots and downloads go to
# $ARTIFACTS (default target/browser-artifacts).
#
#   bash scripts/ci-browser.sh
#
# Environment: VERITY_BIN (a built binary; default: cargo build -p verity-cli),
# CHROMIUM (browser executable), ARTIFACTS (output folder).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

echo "== browser tests: prerequisites"
chromium_bin=${CHROMIUM:-}
if [[ -z "$chromium_bin" ]]; then
    for candidate in /usr/lib/chromium/chromium /usr/bin/chromium; do
        if [[ -x "$candidate" ]]; then chromium_bin=$candidate; break; fi
    done
fi
if [[ -z "$chromium_bin" ]]; then
    echo "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    chromium_bin=/usr/lib/chromium/chromium
fi
export CHROMIUM=$chromium_bin
"$CHROMIUM" --version 2>/dev/null || true
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
fi
node --version
# playwright-core only: it downloads no browser.
(cd scripts/browser && npm ci --no-audit --no-fund --loglevel=error)

bin=${VERITY_BIN:-}
if [[ -z "$bin" ]]; then
    cargo build -q -p verity-cli --bin verity
    bin="$root/target/debug/verity"
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d)
export ARTIFACTS=${ARTIFACTS:-$root/target/browser-artifacts}
mkdir -p "$ARTIFACTS"
log="$ARTIFACTS/verity-serve.log"

echo "== starting verity serve on 127.0.0.1:$port (data in $data)"
VERITY_ADDR=127.0.0.1:$port VERITY_DATA_DIR=$data RUST_LOG=info,tower_http=warn,sqlx=warn \
    "$bin" serve >"$log" 2>&1 &
server=$!
cleanup() {
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$data"
}
trap cleanup EXIT

export VERITY_URL=http://127.0.0.1:$port
deadline=$((SECONDS + 60))
until curl -fsS "$VERITY_URL/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$server" 2>/dev/null; then
        echo "verity serve exited before becoming ready:"; cat "$log"; exit 1
    fi
    if ((SECONDS > deadline)); then
        echo "verity serve not ready within 60 s:"; cat "$log"; exit 1
    fi
    sleep 0.2
done

echo "== browser tests against $VERITY_URL (artifacts in $ARTIFACTS)"
status=0
(cd scripts/browser && node --test --test-concurrency=1 merkle.test.mjs ui.test.mjs) || status=$?
if ((status != 0)); then
    echo "== server log"; tail -n 100 "$log"
fi
exit $status
