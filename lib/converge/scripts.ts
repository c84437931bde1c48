// The shell scripts converge sends to a host. Each is one round-trip; files
// travel base64-encoded inside the script (stdin of the SSH channel), so
// their content never appears on a command line or in a process list.
import { dirModeOf, groupOf, modeOf, ownerOf, under, type FileChange } from "./changes";
import { shellQuote as q } from "../ssh/shell";
import type { Health } from "./actions";
import { spaceCheckLines } from "./disk-space";
import { PENDING_DIR } from "./facts";
import { aptLockWait, packagesReadyLines } from "./package-lock";
import { probeFunctions } from "./probes";
import type { CheckSpec, DirSpec, HandlerSpec } from "./types";

export const STATE_DIR = "/var/lib/podkit";

/** The line the install script prints before it refreshes the package lists. */
export const APT_UPDATING = "podkit:apt-update";

export function installScript(packages: string[], debconf: string[]): string {
  const pkgs = packages.map(q).join(" ");
  return [
    "set -eu",
    "export DEBIAN_FRONTEND=noninteractive",
    // An interrupted apply's apt may still run, or have left dpkg half done (./package-lock.ts).
    ...packagesReadyLines(),
    ...(debconf.length ? [`debconf-set-selections <<'PODKIT_EOF'\n${debconf.join("\n")}\nPODKIT_EOF`] : []),
    // Fresh package lists only when they are a day old or missing: a no-op apply never touches apt.
    `if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages' -mmin -1440 2>/dev/null | head -n1)" ]; then echo ${APT_UPDATING}; apt-get update -qq ${aptLockWait()}; fi`,
    // apt's own progress (dlstatus:/pmstatus: lines, apt-get(8) APT::Status-Fd) is the script's
    // only output: podkit shows it as it comes (./apt-progress.ts). Fd 3 is the old stdout.
    `apt_install() { apt-get install -y -qq ${aptLockWait()} --no-install-recommends -o Dpkg::Options::=--force-confold -o APT::Status-Fd=3 ${pkgs} 3>&1 >/dev/null; }`,
    `apt_install || { echo ${APT_UPDATING}; apt-get update -qq ${aptLockWait()} && apt_install; }`,
  ].join("\n");
}

/**
 * What a role retired: its units stopped and disabled, then its packages
 * removed. `apt-get remove`, not purge: the old config stays on disk for an
 * admin to read, and no dependency is taken along (no autoremove).
 */
export function retireScript(units: string[], packages: string[]): string {
  return [
    "set -eu",
    "export DEBIAN_FRONTEND=noninteractive",
    ...(packages.length ? packagesReadyLines() : []),
    // A unit no package brought after all is skipped (see roleChanges).
    ...units.map((u) => `if systemctl cat ${q(u)} >/dev/null 2>&1; then systemctl disable --now ${q(u)} >/dev/null 2>&1 || systemctl stop ${q(u)}; fi`),
    ...(packages.length ? [`apt-get remove -y -qq ${aptLockWait()} ${packages.map(q).join(" ")} >/dev/null`] : []),
  ].join("\n");
}

/**
 * Copies a path to the same path under a root dir. (Not `cp --parents`:
 * coreutils 9.1, Debian 12's, fails on it for files: "cp: 'etc': No such file".)
 */
function copyUnder(path: string, root: string): string {
  return `mkdir -p "${root}"${q(path.replace(/\/[^/]*$/, "") || "/")} && cp -a ${q(path)} "${root}"${q(path)}`;
}

/** System users, no login, no password: daemons and mail storage run as them. */
export function usersScript(users: { name: string; home: string }[]): string {
  return ["set -eu", ...users.map((u) => `getent passwd ${q(u.name)} >/dev/null || useradd --system --user-group --home-dir ${q(u.home)} --shell /usr/sbin/nologin ${q(u.name)}`)].join("\n");
}

/** System groups (no members here: each role adds its daemon's user with a handler). */
export function groupsScript(groups: { name: string }[]): string {
  return ["set -eu", ...groups.map((g) => `getent group ${q(g.name)} >/dev/null || groupadd --system ${q(g.name)}`)].join("\n");
}

/** A staged file gets its final mode and owner too: checkers refuse a key others could read. */
function writeFile(dest: string, change: FileChange): string {
  const f = change.file;
  return [
    `mkdir -p "$(dirname ${q(dest)})"`,
    `base64 -d > ${q(dest)} <<'PODKIT_EOF'`,
    Buffer.from(f.content).toString("base64").replace(/(.{76})/g, "$1\n"),
    "PODKIT_EOF",
    `chown ${q(ownerOf(f))}:${q(groupOf(f))} ${q(dest)} && chmod ${modeOf(f).toString(8)} ${q(dest)}`,
  ].join("\n");
}

/** The checkers a change makes due: those that read a changed (or removed) path. */
export function dueChecks(checks: CheckSpec[], changed: string[]): CheckSpec[] {
  return checks.filter((c) => changed.some((p) => under(p, c.reads)));
}

/**
 * Build the staging root and run the due checkers on it: live copies of
 * everything a due checker reads, then the changed files on top (and removed
 * files taken away). Exits 3 with CHECK <name> when a checker refuses, after
 * removing the staging root; nothing live is touched by these lines.
 */
function stageAndCheck(role: string, files: FileChange[], checks: CheckSpec[], absent: string[]): string[] {
  const stage = `${STATE_DIR}/stage/${role}`;
  const due = dueChecks(checks, [...files.map((c) => c.file.path), ...absent]);
  return [
    // podkit's own dir is traversable (the ACME webroot lives under it); staged
    // copies of secret files must be no easier to read than the files.
    `install -d -m 755 ${STATE_DIR} && install -d -m 711 ${STATE_DIR}/stage`,
    "umask 077",
    `S=${q(stage)}`,
    'rm -rf "$S"; mkdir -p "$S/.work"',
    ...[...new Set(due.flatMap((c) => c.reads))].map((p) => `if [ -e ${q(p)} ]; then ${copyUnder(p, "$S")}; fi`),
    ...files.map((c) => writeFile(`${stage}${c.file.path}`, c)),
    ...absent.map((p) => `rm -f ${q(stage + p)}`),
    // Checkers may test that the daemon's own user can read its config (prosodyctl does):
    // staged directories can be passed through, not listed; each file keeps its own mode.
    'find "$S" -type d -exec chmod 711 {} +',
    ...due.map((c) => [
      `if ! out=$( (${c.run.replaceAll("{stage}", stage).replaceAll("{work}", `${stage}/.work`)}) 2>&1 ); then`,
      `  printf 'CHECK %s\\n%s\\n' ${q(c.name)} "$out"; rm -rf "$S"; exit 3`,
      "fi",
    ].join("\n")),
  ];
}

/** Only the checking half of commitScript: what the engine would check for this change, live untouched. */
export function checkScript(role: string, files: FileChange[], checks: CheckSpec[], absent: string[] = []): string {
  return ["set -eu", ...stageAndCheck(role, files, checks, absent), 'rm -rf "$S"'].join("\n");
}

/**
 * Stage the changed files, run the daemons' checkers on the staged copy, and
 * only if all pass move each file into place (a rename: a reader sees the old
 * or the new file, never half). Previous versions go to a rollback dir so a
 * failed reload can put them back. Exit 3 with CHECK <name> when a checker
 * refuses, exit 6 when a filesystem lacks the room all this takes
 * (./disk-space.ts); nothing live has changed then.
 */
export function commitScript(role: string, files: FileChange[], dirs: DirSpec[], checks: CheckSpec[], absent: string[] = []): string {
  const stage = `${STATE_DIR}/stage/${role}`;
  const backup = `${STATE_DIR}/rollback/${role}`;
  const moved = [...files.map((c) => c.file.path), ...absent];
  const reads = [...new Set(dueChecks(checks, moved).flatMap((c) => c.reads))];
  const lines = [
    "set -eu",
    ...(files.length ? spaceCheckLines(files, { stage, rollback: backup, reads }) : []),
    ...stageAndCheck(role, files, checks, absent),
    // Previous versions, secret files among them, for root's eyes only. (Older podkit kept
    // them under backup/<role>, the backup role's status dir: nothing there should outlive them.)
    `install -d -m 700 ${STATE_DIR}/rollback && rm -rf ${q(`${STATE_DIR}/backup/${role}`)}`,
    `B=${q(backup)}`,
    'rm -rf "$B"; mkdir -p "$B"; : > "$B/.new"',
    // Until the handlers and reloads are done, the paths moved in are noted: a run cut off after this
    // line leaves them live, and the next one (whose facts find them the same as the stack) runs them.
    ...(moved.length ? [`install -d -m 700 ${PENDING_DIR} && printf '%s\\n' ${moved.map(q).join(" ")} >> ${q(`${PENDING_DIR}/${role}`)}`] : []),
    ...dirs.map((d) => `install -d -m ${dirModeOf(d).toString(8)} -o ${q(ownerOf(d))} -g ${q(groupOf(d))} ${q(d.path)}`),
    ...files.map((c) => {
      const p = c.file.path;
      return [
        `if [ -e ${q(p)} ]; then ${copyUnder(p, "$B")}; else echo ${q(p)} >> "$B/.new"; fi`,
        `install -D -m ${modeOf(c.file).toString(8)} -o ${q(ownerOf(c.file))} -g ${q(groupOf(c.file))} ${q(stage + p)} ${q(`${p}.podkit-new`)}`,
        `mv -f ${q(`${p}.podkit-new`)} ${q(p)}`,
      ].join("\n");
    }),
    ...absent.map((p) => `if [ -e ${q(p)} ] || [ -L ${q(p)} ]; then ${copyUnder(p, "$B")}; rm -f ${q(p)}; fi`),
    'rm -rf "$S"',
  ];
  return lines.join("\n");
}

/**
 * Once a role's change has gone live (or been rolled back), its rollback copies
 * have done their work: they go, so no earlier password hash, key or secret
 * outlives the apply on the host in a copy of its own.
 */
export function discardRollbackScript(role: string): string {
  return `rm -rf ${q(`${STATE_DIR}/rollback/${role}`)} ${q(`${PENDING_DIR}/${role}`)}`;
}

/** Puts back what commitScript replaced (renamed in, like the commit), removes what it created. */
export function rollbackScript(role: string): string {
  const backup = `${STATE_DIR}/rollback/${role}`;
  return [
    "set -u",
    `B=${q(backup)}`,
    '[ -d "$B" ] || exit 0',
    'while IFS= read -r f; do [ -n "$f" ] && rm -f "$f"; done < "$B/.new"',
    // Each copy beside its place, then renamed over it: a reader (or a full disk) never meets half a file.
    '(cd "$B" && find . ! -type d ! -name .new -print0 | while IFS= read -r -d "" f; do cp -a "$f" "/${f#./}.podkit-new" && mv -f "/${f#./}.podkit-new" "/${f#./}"; done)',
  ].join("\n");
}

export function handlersScript(handlers: HandlerSpec[]): string {
  return ["set -eu", ...handlers.map((h) => h.run)].join("\n");
}

/**
 * Reload or restart units, then wait until each is active and its ports answer
 * on loopback (up to 20 s: a cold Dovecot or Prosody start takes a few), then
 * run its client probes (./probes.ts): each may take a few tries while a cold
 * daemon warms up, and the first that keeps failing ends the script (exit 4)
 * with "<service>: <check> failed: <what the client saw>".
 */
export function serviceScript(actions: { unit: string; verb: string }[], health: Health[]): string {
  const probed = health.filter((h) => h.probes?.length);
  return [
    "set -u",
    ...actions.map((a) => `systemctl ${a.verb} ${q(a.unit)} || { echo "systemctl ${a.verb} ${a.unit} failed"; systemctl status --no-pager -n 20 ${q(a.unit)} 2>&1 | tail -n 20; exit 4; }`),
    ...health.map((h) => [
      `ok=; for i in $(seq 1 100); do`,
      `  if systemctl is-active -q ${q(h.unit)}${h.ports.map((p) => ` && timeout 1 bash -c '</dev/tcp/127.0.0.1/${p}' 2>/dev/null`).join("")}; then ok=1; break; fi`,
      "  sleep 0.2",
      "done",
      `[ -n "$ok" ] || { echo "${h.unit} is not healthy (active, ports ${h.ports.join(" ") || "-"}):"; journalctl -u ${q(h.unit)} -n 20 --no-pager 2>&1 | tail -n 20; exit 4; }`,
    ].join("\n")),
    ...(probed.length ? probeLines(actions, probed) : []),
  ].join("\n");
}

/** The probes of the units that have them, after the functions they call. */
function probeLines(actions: { unit: string; verb: string }[], probed: Health[]): string[] {
  return [
    probeFunctions(),
    // Five tries a second apart: a daemon that just started may answer its port before it speaks TLS.
    'probe_retry() { local i out; for i in 1 2 3 4 5; do out=$("$@") && return 0; [ $i = 5 ] || sleep 1; done; echo "$out"; return 1; }',
    // A reload is asynchronous (a signal): give the old processes a moment to hand over, so the probe meets the new config.
    ...(actions.some((a) => a.verb === "reload-or-restart") ? ["sleep 1"] : []),
    ...probed.flatMap((h) => (h.probes ?? []).map((p) =>
      `out=$(probe_retry ${p.run}) || { echo ${q(`${h.unit.replace(/\.service$/, "")}: ${p.name} failed: `)}"$out"; exit 4; }`)),
  ];
}

/** Current content of files (for diffs), each as a base64 block after a marker line. */
export function readFilesScript(paths: string[]): string {
  return paths.map((p) => `echo ${q(`=== ${p}`)}; [ -f ${q(p)} ] && base64 -w0 ${q(p)}; echo`).join("\n");
}

export function parseReadFiles(out: string): Record<string, string> {
  const files: Record<string, string> = {};
  const lines = out.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].startsWith("=== ")) files[lines[i].slice(4)] = Buffer.from(lines[i + 1] ?? "", "base64").toString();
  }
  return files;
}
