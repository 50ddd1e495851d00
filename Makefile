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

fuzz:
	go test -run '^$$' -fuzz FuzzParseWebhook -fuzztime 60s ./internal/whatsapp/
	go test -run '^$$' -fuzz FuzzDecodeFast -fuzztime 60s ./internal/whatsapp/
	go test -run '^$$' -fuzz FuzzVerifySignature -fuzztime 60s ./internal/whatsapp/
	go test -run '^$$' -fuzz FuzzParseError -fuzztime 60s ./internal/cloudapi/

lint:
	scripts/lint.sh

bench:
	go run ./cmd/ticks bench ingest
