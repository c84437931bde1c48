#!/usr/bin/env bash
# `npm run lab`: the workshop's first command. Installs what is missing (Debian packages,
# npm packages), then brings up the lab: hosts a, b and backup, lab DNS, lab CA.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "npm run lab: the lab needs root (bridges, mounts, containers); run it as root or with sudo" >&2
  exit 64
fi
bash scripts/setup.sh
npx --no-install podkit lab up

# The two pods: when the mail and chat roles land, apply them to the lab hosts here, e.g.
#   npx --no-install podkit apply stacks/lab-a.yaml
#   npx --no-install podkit apply stacks/lab-b.yaml
