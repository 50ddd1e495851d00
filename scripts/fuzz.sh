#!/usr/bin/env bash
# Runs every fuzz target of the repository for a budget of executions:
# `brief` (CI, about 10 s each on the reference machine) or `long`
# (make fuzz, about a minute each). Fails when a Fuzz function of the
# repository is missing from the list below, so a new one cannot be left
# out of CI. Budgets in executions, not seconds: a -fuzztime duration can
# end in a spurious "context deadline exceeded" with Go 1.26
# (go.dev/issue/75804, fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-brief}
case $mode in brief) col=3 ;; long) col=4 ;; *) echo "usage: $0 brief|long" >&2; exit 2 ;; esac

# target, package, brief executions, long executions
targets="
FuzzParseWebhook      ./internal/whatsapp  500000  3000000
FuzzVerifySignature   ./internal/whatsapp  150000  2000000
FuzzDecodeFast        ./internal/whatsapp  500000  4000000
FuzzParseError        ./internal/cloudapi  200000  1500000
FuzzOpenDamaged       ./internal/inboxlog    5000    60000
FuzzBoxOpen           ./internal/secret    150000  1200000
FuzzCheckPassword     ./internal/secret    100000   800000
FuzzNeutralizeFormula ./internal/export    150000   800000
FuzzNormalize         ./internal/phone     100000   400000
FuzzFromWAID          ./internal/phone     100000   600000
FuzzNormalize         ./internal/campaigns  50000   400000
FuzzDecodeVars        ./internal/store      50000   400000
FuzzPlanInAnyOrder    ./internal/ingest/apply  3000    30000
FuzzAcceptWebhook     ./internal/whatsapp  200000  1500000
"

listed=$(echo "$targets" | awk 'NF {print $2 "/" $1}' | sort)
found=$(grep -rn --include='*_test.go' '^func Fuzz' . |
  sed -E 's|^\./(.*)/[^/]*_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|./\1/\2|' | sort)
if [ "$listed" != "$found" ]; then
  echo "scripts/fuzz.sh lists other fuzz targets than the repository has:" >&2
  diff <(echo "$listed") <(echo "$found") >&2 || true
  exit 1
fi

echo "$targets" | awk -v c="$col" 'NF {print $1, $2, $c}' | while read -r name pkg execs; do
  start=$(date +%s)
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "${execs}x" "$pkg/"
  echo "$name: ${execs} executions in $(( $(date +%s) - start )) s"
done
