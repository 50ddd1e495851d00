#!/usr/bin/env bash
# The PostgreSQL outage test (issue 13, 1): a PostgreSQL cluster of the
# test's own (initdb into a temporary folder, on a free port) is stopped and
# started while webhooks arrive; every webhook answered 200 must be applied
# afterwards, none set aside. Needs PostgreSQL's server programs (initdb,
# pg_ctl: Debian's postgresql package; TICKS_PG_BIN names their folder if
# they are elsewhere); as root it runs them as the postgres user. The shared
# server is never touched. (The full-disk test on SQLite runs with the
# others: go test ./internal/server -run TestFullDiskLosesNothing.)
set -euo pipefail
cd "$(dirname "$0")/.."
go test -count=1 -tags pgoutage -run '^TestPostgresOutageLosesNothing$' ./internal/server/
