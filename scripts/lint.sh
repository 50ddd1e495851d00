#!/usr/bin/env bash
# Lint: gofmt and go vet must have nothing to say.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
# The screenshots test builds only with its tag; vet it so it cannot rot.
go vet -tags screenshots ./internal/server/
echo "lint: ok"
