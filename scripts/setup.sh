#!/usr/bin/env bash
# Installs what podkit needs on a Debian 12 machine (as root): the Debian packages
# its lab and its config checkers use, and the npm packages from package-lock.json.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# The lab: nspawn hosts on a bridge, a base tree, lab DNS (knot + unbound), lab CA (pebble), NAT.
LAB_PACKAGES=(systemd-container debootstrap iproute2 nftables openssh-client openssl
  knot knot-dnsutils unbound pebble ca-certificates util-linux procps)
# Tier 2 checks: zone files are checked by a real zone checker; the roles' configs by their
# daemons' own checkers in the checker root (debootstrap builds it; unshare, mount and ip run it).
CHECK_PACKAGES=(knot-dnssecutils bind9-utils debootstrap util-linux mount iproute2)

missing=()
for p in "${LAB_PACKAGES[@]}" "${CHECK_PACKAGES[@]}" "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Daemons from these packages are started by the lab itself, never by the package scripts.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The CLI bundle (bin/podkit.js falls back to the TypeScript sources when one is newer).
npm run --silent build

# The checker root: a Debian tree with the pod's daemons, for the config-checked tier. Built once
# (a few minutes, network needed), rebuilt when the roles' package list changes; silent when current.
node --import tsx scripts/checker-root.ts
