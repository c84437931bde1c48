#!/usr/bin/env bash
# `npm run lab`: the workshop's first command. Installs what is missing (Debian packages,
# npm packages), then brings up the lab: hosts a, b and backup, lab DNS, lab CA, package
# cache. `npm run lab -- --seats 8` adds eight workshop seats, their pods applied by `lab up`.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "npm run lab: the lab needs root (bridges, mounts, containers); run it as root or with sudo" >&2
  exit 64
fi
bash scripts/setup.sh
npx --no-install podkit lab up "$@"

# The two pods, a.test on host a and b.test on host b, applied as any user would, side by
# side by one podkit: on a terminal it keeps one live line per host (two processes would
# draw over each other's), and every line names its pod (lab-a/mx, lab-b/mx).
# (Secrets for lab stacks are random, in stacks/lab-*.secrets.yaml.)
status=0
npx --no-install podkit apply stacks/lab-a.yaml stacks/lab-b.yaml || status=1
if [ "$status" = 0 ]; then
  echo "lab ready: pods a.test (10.77.0.11) and b.test (10.77.0.12); accounts and passwords in stacks/lab-*.secrets.yaml"
fi
exit $status
