#!/usr/bin/env bash
# make screenshots: runs the demo for a minute, then photographs the report
# pages in headless Chromium (internal/server/screenshots_test.go, built
# only with -tags screenshots) and, when every page showed what it should,
# replaces docs/screenshots/ with them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh >/dev/null
dir=$(mktemp -d)
go build -o "$dir/ticks" ./cmd/ticks
"$dir/ticks" demo -addr 127.0.0.1:18089 -data-dir "$dir/data" -rate 20 >"$dir/demo.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
sleep "${DEMO_SECONDS:-60}"
password=$(sed -n 's/.*"password": "\(.*\)".*/\1/p' "$dir/data/demo.json")
mkdir -p "$dir/shots"
TICKS_SCREENSHOT_URL=http://127.0.0.1:18089 TICKS_SCREENSHOT_DIR="$dir/shots" \
TICKS_SCREENSHOT_EMAIL=admin@ticks.local TICKS_SCREENSHOT_PASSWORD="$password" \
  go test -tags screenshots -count=1 -v -run '^TestScreenshots$' ./internal/server/
mkdir -p docs/screenshots
cp "$dir"/shots/*.png docs/screenshots/
ls -l docs/screenshots
