#!/usr/bin/env bash
# Installs what podkit needs on a Debian 12 machine (as root): the Debian packages its
# CLI, its lab and its tests run, and the npm packages from package-lock.json. Both
# `npm run lab` and `npm test` start with it.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every program podkit runs on this machine comes from one of these lists or from Debian's
# base system; test/unit/admin-programs-are-installed-by-setup.test.ts checks it, program
# by program. A package list is a *_PACKAGES array, and every one is installed below.

# The admin side of a pod: `podkit backup --prune` runs restic here with the prune login,
# which never reaches the pod; `podkit lab ssh` runs ssh.
ADMIN_PACKAGES=(restic openssh-client)
# The lab (lib/lab): hosts booted by systemd-nspawn (systemd-container) on a bridge with NAT
# (iproute2, nftables, util-linux), their base tree (debootstrap), lab SSH and CA keys
# (openssh-client, openssl), lab DNS (knot, unbound), lab ACME CA (pebble), the hosts'
# shared package cache (apt-cacher-ng); ca-certificates for this machine's own HTTPS.
LAB_PACKAGES=(systemd-container debootstrap iproute2 nftables openssh-client openssl
  knot unbound pebble apt-cacher-ng ca-certificates util-linux)
# For looking at the lab by hand (kdig, ps); nothing podkit runs needs them.
BY_HAND_PACKAGES=(knot-dnsutils procps)
# Tier 2 checks: zone files are checked by real zone checkers (kzonecheck, named-checkzone); the
# roles' configs by their daemons' own checkers in a checker root per Debian release
# (debootstrap builds them; unshare, mount and ip run them). A lab test records `npm run lab`
# on a terminal with tmux, to show what a person sees. The HTML how-to is loaded by Debian's
# chromium, headless, with DejaVu fonts (its stylesheet names them), and screenshotted.
# The member pages' service (role web) runs here in a unit test as on the pod, on Python 3's
# standard library (python3; /usr/bin/python3 itself is python3-minimal's).
CHECK_PACKAGES=(knot-dnssecutils bind9-utils debootstrap util-linux mount iproute2 tmux
  chromium fonts-dejavu-core python3-minimal python3)

missing=()
for p in "${ADMIN_PACKAGES[@]}" "${LAB_PACKAGES[@]}" "${BY_HAND_PACKAGES[@]}" "${CHECK_PACKAGES[@]}" "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Daemons from these packages are started by the lab itself, never by the package scripts.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian's apt-cacher-ng service would proxy for every network this machine is on, on
  # 3142; the lab runs its own, on the lab bridge only, while the lab is up. On a machine
  # with systemd, the service this install just started goes again (one installed before
  # setup ran is left as it was).
  if [[ " ${missing[*]} " == *" apt-cacher-ng "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now --quiet apt-cacher-ng.service
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The CLI bundle (bin/podkit.js falls back to the TypeScript sources when one is newer).
npm run --silent build
