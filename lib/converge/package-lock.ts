// Package operations left running or half done by an interrupted apply. An
// admin's laptop drops off the Wi-Fi (or Ctrl-C) while apt installs: the SSH
// session ends but apt goes on on the host, holding dpkg's lock and debconf's
// config.dat, and the next apply's debconf-set-selections failed at once with
// "config.dat is locked by another process". A host rebooted (or an apt
// killed) mid-install leaves dpkg "interrupted": apt then refuses everything
// until `dpkg --configure -a`. So every script that touches packages first
// waits, with a line saying for whom, for whoever holds those files, up to a
// bound, and repairs an interrupted dpkg once nobody does.
//
// Who holds them is read from /proc (any process with the lock files open):
// apt and dpkg take fcntl locks, which flock(1) cannot see, and fuser(1) is in
// psmisc, which a minimal host lacks. apt's own DPkg::Lock::Timeout covers the
// moment between this wait and apt's start (a timer's unattended-upgrades).

/** How long a package operation of someone else's may keep the host's package system (seconds). */
export const PACKAGE_WAIT_SECONDS = 600;

/** The line the wait prints (every 15 s): "podkit:packages-busy <seconds waited> <pid> <command>". */
export const PACKAGES_BUSY = "podkit:packages-busy";
/** The line printed before `dpkg --configure -a`. */
export const DPKG_REPAIR = "podkit:dpkg-repair";

/** The files a package operation holds: dpkg's locks, apt's, debconf's databases. */
const LOCK_FILES = ["/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock", "/var/lib/apt/lists/lock", "/var/cache/apt/archives/lock", "/var/cache/debconf/*.dat"];

/** apt-get options: wait for dpkg's lock like the lines below do, rather than fail at once. */
export const aptLockWait = (seconds = PACKAGE_WAIT_SECONDS) => `-o DPkg::Lock::Timeout=${seconds}`;

/**
 * Script lines (bash, run as root) that wait until no process holds the
 * package system, then repair an interrupted dpkg. Exit 75 when the wait ran
 * out, with the holder; exit 1 when the repair failed, with dpkg's (or apt's) words.
 * (`lockFiles` is for tests.)
 */
export function packagesReadyLines(seconds = PACKAGE_WAIT_SECONDS, lockFiles = LOCK_FILES): string[] {
  const names = lockFiles.map((f) => `-lname '${f}'`).join(" -o ");
  return [
    `pkg_holders() { find /proc/[0-9]*/fd -maxdepth 1 \\( ${names} \\) 2>/dev/null | cut -d/ -f3 | sort -un; }`,
    "waited=0",
    'while holder=$(pkg_holders | head -n1) && [ -n "$holder" ]; do',
    `  cmd=$(tr '\\0' ' ' < "/proc/$holder/cmdline" 2>/dev/null | cut -c1-100)`,
    `  [ $((waited % 15)) -ne 0 ] || echo "${PACKAGES_BUSY} $waited $holder $cmd"`,
    `  [ "$waited" -lt ${seconds} ] || { echo "another package operation (pid $holder: $cmd) still holds the package system after ${seconds}s"; exit 75; }`,
    "  sleep 1; waited=$((waited + 1))",
    "done",
    // Nobody holds it: a dpkg that was interrupted (packages left unpacked or half-configured, journal entries in updates/) is finished first.
    'if [ -n "$(dpkg --audit 2>/dev/null)" ] || [ -n "$(ls -A /var/lib/dpkg/updates 2>/dev/null)" ]; then',
    `  echo ${DPKG_REPAIR}`,
    // A package cut off mid-unpack is beyond --configure: apt's own repair (install -f) reinstalls it.
    "  out=$(DEBIAN_FRONTEND=noninteractive dpkg --force-confold --configure -a 2>&1) ||",
    `    out=$(DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq ${aptLockWait(seconds)} -o Dpkg::Options::=--force-confold 2>&1) ||`,
    "    { echo \"dpkg --configure -a and apt-get install -f failed: $(tail -n 5 <<<\"$out\")\"; exit 1; }",
    "fi",
  ];
}

/** What the host's package system said, as a line for the admin. */
export type PackageWait = { kind: "busy"; waited: number; pid: number; command: string } | { kind: "repair" };

/** Parses one line of the lines above; undefined for any other line (apt's status lines). */
export function parsePackageWait(line: string): PackageWait | undefined {
  if (line === DPKG_REPAIR) return { kind: "repair" };
  const m = new RegExp(`^${PACKAGES_BUSY} (\\d+) (\\d+) ?(.*)$`).exec(line);
  return m ? { kind: "busy", waited: Number(m[1]), pid: Number(m[2]), command: m[3].trim() } : undefined;
}

export function describePackageWait(w: PackageWait, limit = PACKAGE_WAIT_SECONDS): string {
  if (w.kind === "repair") return "a package installation was interrupted (an earlier apply cut off?): finishing it with dpkg --configure -a";
  return `waiting for a package operation still running on the host (pid ${w.pid}${w.command ? `: ${w.command}` : ""}), ` +
    `${w.waited}s so far, up to ${limit}s (an earlier apply cut off keeps installing on the host)`;
}

/** Wraps a consumer of a script's output: the wait's lines go to `say`, every chunk still to `next`. */
export function watchPackageWait(say: (line: string) => void, next?: (chunk: string) => void): (chunk: string) => void {
  let rest = "";
  return (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) {
      const w = parsePackageWait(l.trim());
      if (w) say(describePackageWait(w));
    }
    next?.(chunk);
  };
}
