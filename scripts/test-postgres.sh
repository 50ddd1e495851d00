#!/usr/bin/env bash
# The PostgreSQL suite: the same store, ingest, send, API, history and process tests as
# `make test`, against a real PostgreSQL server (each test in its own schema).
set -euo pipefail
cd "$(dirname "$0")/.."
export TICKS_TEST_POSTGRES_URL="$(scripts/postgres.sh)"
echo "PostgreSQL suite against $TICKS_TEST_POSTGRES_URL"
go test -count=1 ./internal/store/... ./internal/ingest/... ./internal/send/... ./internal/server/... ./internal/reports/... ./internal/access/... ./internal/channels/... ./internal/billing/... ./internal/bench/... ./internal/demo/... ./cmd/ticks/...
scripts/test-outage.sh
