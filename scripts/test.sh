#!/usr/bin/env bash
# The whole test suite, in tiers: unit (seconds), config-checked (well under a minute),
# lab end-to-end (minutes). Installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

shopt -s nullglob
unit=(test/unit/*.test.ts)
# Config-checked: real checkers on rendered output, and every role's own role.test.ts.
config=(test/config/*.test.ts roles/*/role.test.ts)
lab=(test/lab/*.test.ts)

# The two tiers share nothing: the fast one runs daemons' checkers in the checker roots, the
# lab one drives nspawn hosts. So they run side by side (the suite's time is the lab tier's
# and not the sum), the fast tier's report kept in a file and printed once it is done, so
# neither report is cut into the other.
fast_log=$(mktemp /tmp/podkit-fast-tier.XXXXXX)
(
  # The checker roots: a Debian tree with the pod's daemons per supported release (bookworm,
  # trixie). Each built once (a few minutes, network needed); a package a role adds later is
  # installed into it; silent when current. Only the tests need it, so `npm run lab` does not
  # wait for it. flock: two suites on one machine (two checkouts) build or grow a root one at a time.
  mkdir -p /var/lib/podkit && flock /var/lib/podkit/checker.lock node --import tsx scripts/checker-root.ts &&
  # One runner invocation per tier so each prints its own summary.
  node --import tsx --test --test-reporter=spec "${unit[@]}" "${config[@]}"
) > "$fast_log" 2>&1 &
fast=$!

status=0
if ((${#lab[@]})); then
  # The lab tests bring the lab up themselves; it goes down at the end, whatever happened.
  trap 'node bin/podkit.js lab down >/dev/null 2>&1 || true' EXIT
  # Lab tests share hosts, so one at a time. --test-force-exit: a client a test forgot to
  # close must not hold the whole suite (each file's tests still close what they open);
  # --test-timeout bounds any single test at 10 minutes.
  node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-force-exit --test-timeout=600000 "${lab[@]}" || status=1
fi
wait "$fast" || status=1
echo "== the fast tier (unit and config-checked), run beside the lab tier:"
cat "$fast_log"
rm -f "$fast_log"
exit $status
