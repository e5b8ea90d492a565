#!/usr/bin/env bash
# Installs and checks what the distributed tests need, for .ci/run to call
# before `cargo test` (and sets nothing else up):
#   - moto_server (PyPI moto[server]) for the S3 tests,
#   - the Node packages of scripts/node (Walrus test server, BullMQ benchmark),
#   - PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379 answering
#     (started here with pg_ctlcluster / redis-server when installed but down).
# Then run the tests with VERITY_REQUIRE_SERVICES=1 so a missing service fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v moto_server >/dev/null; then
  python3 -m pip install --quiet 'moto[server]'
fi
(cd scripts/node && npm ci --no-audit --no-fund --loglevel=error)

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  fi
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --appendonly yes >/dev/null
fi
for _ in $(seq 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
  sleep 0.2
done
pg_isready -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 -p 6379 ping
command -v moto_server redis-server node >/dev/null
echo "ci-services: PostgreSQL, Redis, moto_server, node and scripts/node packages ready"
