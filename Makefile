# The few commands people run. CI runs .ci/run, which runs `make test` first.

.PHONY: demo test test-deps test-race test-postgres fuzz fuzz-brief lint bench build screenshots

build:
	go build -o ticks ./cmd/ticks

demo:
	go run ./cmd/ticks demo

# The suite needs Chromium, pdftotext and LibreOffice Calc, and fails
# without them: test-deps installs what is missing (Debian packages).
test: test-deps
	go test -count=1 ./...

test-deps:
	@scripts/test-deps.sh >/dev/null

# The race detector on the packages where goroutines meet: the inbox log's
# group commit, the webhook handler and processor, the send pipeline and the
# Cloud API client, the simulator's webhook sender, the store's group
# writer and export streams, the export queue and login throttle, and the
# server's components. -short plays the
# replay test's day at 600 events instead of 3,000 and stores a third of
# the table-order export test's messages; the report-totals test
# (one goroutine, a minute under -race) is left to make test. cmd/ticks's
# goroutines run in a binary built without -race, so it is not here.
RACE_PACKAGES = ./internal/inboxlog/ ./internal/ingest/ ./internal/send/ ./internal/cloudapi/ \
	./internal/simulator/ ./internal/store/ ./internal/server/ ./internal/reports/ ./internal/access/
test-race: test-deps
	go test -race -short -count=1 -timeout 30m -skip '^TestReportTotalsAndPagesMatchTheMessages$$' $(RACE_PACKAGES)

test-postgres:
	scripts/test-postgres.sh

# Every fuzz target, about a minute each on the reference machine (fuzz-brief
# is CI's few seconds each). Budgets in executions, not seconds: a
# -fuzztime duration can end in a spurious "context deadline exceeded" with
# Go 1.26 (go.dev/issue/75804, fixed in Go 1.27).
fuzz:
	scripts/fuzz.sh long

fuzz-brief:
	scripts/fuzz.sh brief

lint:
	scripts/lint.sh

bench:
	go run ./cmd/ticks bench ingest

# The docs' screenshots: a minute of demo, then each report page
# photographed and checked (scripts/screenshots.sh).
screenshots:
	scripts/screenshots.sh
