#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (deny.toml; docs/SECURITY.md, "Supply chain"):
# RustSec advisories, the licence allow-list, banned crates and crate sources.
#
#   scripts/deny.sh                 # every check
#   DENY_OFFLINE=1 scripts/deny.sh  # skip the advisory database fetch (licences, sources, bans only)
#
# Installs cargo-deny (pinned) with `cargo install --locked` when it is missing.
# The advisory database is fetched from GitHub; where that cannot be reached the
# script says so, still runs the other checks, and exits with their result.
set -euo pipefail

cd "$(dirname "$0")/.."

DENY_VERSION="${DENY_VERSION:-0.20.2}"

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny.sh: installing cargo-deny ${DENY_VERSION} (cargo install --locked; several minutes the first time)"
    cargo install --locked cargo-deny --version "${DENY_VERSION}"
fi
echo "deny.sh: $(cargo deny --version)"

status=0
advisories_checked=0
if [ "${DENY_OFFLINE:-0}" != "1" ]; then
    # Fetching the database is what needs the network; give it a bounded time.
    log="$(mktemp)"
    if timeout "${DENY_FETCH_TIMEOUT:-180}" cargo deny fetch db >"$log" 2>&1; then
        advisories_checked=1
        cargo deny --locked --offline check advisories || status=$?
    else
        echo "deny.sh: WARNING: the RustSec advisory database could not be fetched" \
             "(no network to github.com?); advisories were NOT checked:" >&2
        sed 's/^/    /' "$log" >&2
    fi
    rm -f "$log"
else
    echo "deny.sh: DENY_OFFLINE=1: advisories were NOT checked" >&2
fi

cargo deny --locked check licenses sources bans || status=$?

if [ "$status" -eq 0 ]; then
    if [ "$advisories_checked" -eq 1 ]; then
        echo "deny.sh: advisories, licenses, sources, bans: ok"
    else
        echo "deny.sh: licenses, sources, bans: ok (advisories not checked)"
    fi
else
    echo "deny.sh: FAILED (exit $status)" >&2
fi
exit "$status"
