# The few commands people run. CI runs .ci/run, which runs `make test` first.

.PHONY: demo test test-postgres fuzz lint bench build

build:
	go build -o ticks ./cmd/ticks

demo:
	go run ./cmd/ticks demo

test:
	go test -count=1 ./...

test-postgres:
	scripts/test-postgres.sh

# About a minute each on the reference machine; budgets in executions, as in
# .ci/run (a -fuzztime duration can end in a spurious "context deadline
# exceeded" with Go 1.26, go.dev/issue/75804).
fuzz:
	go test -run '^$$' -fuzz FuzzParseWebhook -fuzztime 3000000x ./internal/whatsapp/
	go test -run '^$$' -fuzz FuzzDecodeFast -fuzztime 4000000x ./internal/whatsapp/
	go test -run '^$$' -fuzz FuzzVerifySignature -fuzztime 2000000x ./internal/whatsapp/
	go test -run '^$$' -fuzz FuzzParseError -fuzztime 1500000x ./internal/cloudapi/
	go test -run '^$$' -fuzz FuzzOpenDamaged -fuzztime 60000x ./internal/inboxlog/

lint:
	scripts/lint.sh

bench:
	go run ./cmd/ticks bench ingest
