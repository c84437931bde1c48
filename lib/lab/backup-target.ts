// The lab's backup target: host `backup` plays the storage provider a real pod
// rents from (a storage box, a friend's rest-server), as pebble plays the CA.
// It is not a role of the pod: a pod's stack names its target, it does not
// manage the provider's machine. Two `rclone serve restic` endpoints share one
// data directory:
//   :8000  --append-only  the pods' logins: they can add snapshots, never delete;
//   :8001  full access     the prune logins, used only from the admin machine.
// Both serve HTTPS with a certificate from the lab CA (trusted in every lab host).
// https://rclone.org/commands/rclone_serve_restic/
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { $ } from "./sh";
import { CA_FILES } from "./ca";
import { PATHS, hostFqdn } from "./config";
import type { Pod } from "../stack/pod";
import { connectLabHost } from "./ssh";
import type { LabState } from "./state";

export const BACKUP_TARGET = {
  host: "backup",
  appendPort: 8000,
  prunePort: 8001,
  /** The repositories, on the backup host (the drill's "not in plain text" grep reads it). */
  dataDir: "/srv/restic",
  confDir: "/etc/podkit-lab/restic",
} as const;

export interface TargetLogin {
  username: string;
  password: string;
}

/** Does this REST URL point at the lab's backup host? */
export function isLabTarget(state: LabState, url: string): boolean {
  const host = new URL(url).hostname;
  return host === hostFqdn(BACKUP_TARGET.host) || host === state.hosts[BACKUP_TARGET.host]?.address;
}

/** The lab CA signs the target's certificate once (cached beside the CA, like pebble's listener). */
async function targetCertificate(address: string): Promise<{ cert: string; key: string }> {
  const key = path.join(PATHS.caDir, "backup-target.key");
  const cert = path.join(PATHS.caDir, "backup-target.pem");
  if (!fs.existsSync(cert) || !fs.existsSync(key)) {
    const name = hostFqdn(BACKUP_TARGET.host);
    await $({ quiet: true })`openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ${key} -out ${cert} -CA ${CA_FILES.labCa} -CAkey ${CA_FILES.labCaKey} -days 825 -subj ${`/CN=${name}`} -addext ${`subjectAltName=DNS:${name},IP:${address}`} -addext ${"basicConstraints=critical,CA:FALSE"} -addext ${"extendedKeyUsage=serverAuth"}`;
    fs.chmodSync(key, 0o600);
  }
  return { cert: fs.readFileSync(cert, "utf8"), key: fs.readFileSync(key, "utf8") };
}

/** htpasswd lines (apr1: a hash rclone's htpasswd reader knows; lab only). */
async function htpasswd(logins: TargetLogin[]): Promise<string> {
  // Every apply of a lab pod comes here: the hashes of logins seen before are kept in the
  // lab's run dir (root's, gone with the lab), so a no-op apply starts no openssl.
  const cacheFile = path.join(path.dirname(PATHS.state), "htpasswd-cache.json");
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(fs.readFileSync(cacheFile, "utf8"));
  } catch {
    // none yet
  }
  const lines = [];
  let grew = false;
  for (const l of logins) {
    const id = createHash("sha256").update(`${l.username}\0${l.password}`).digest("hex");
    const salt = id.slice(0, 8); // stable: unchanged logins, unchanged file
    if (!cache[id]) {
      cache[id] = (await $({ quiet: true, input: l.password })`openssl passwd -apr1 -salt ${salt} -stdin`).stdout.trim();
      grew = true;
    }
    lines.push(`${l.username}:${cache[id]}\n`);
  }
  if (grew) fs.writeFileSync(cacheFile, JSON.stringify(cache), { mode: 0o600 });
  return lines.join("");
}

function unit(name: string, port: number, appendOnly: boolean): string {
  return [
    `# podkit lab: restic REST endpoint on ${port}${appendOnly ? ", append-only (the pods' logins)" : ", may delete (prune logins, admin machine only)"}`,
    "[Unit]", `Description=podkit lab restic target (${name})`, "After=network-online.target", "",
    "[Service]",
    `ExecStart=/usr/bin/rclone serve restic ${BACKUP_TARGET.dataDir} --addr :${port}${appendOnly ? " --append-only" : ""} --htpasswd ${BACKUP_TARGET.confDir}/${name}.htpasswd --cert ${BACKUP_TARGET.confDir}/cert.pem --key ${BACKUP_TARGET.confDir}/key.pem`,
    "Restart=on-failure", "", "[Install]", "WantedBy=multi-user.target", "",
  ].join("\n");
}

/**
 * Makes host `backup` serve the given logins (idempotent, one SSH round-trip
 * when nothing changed). Logins of other pods already there are kept.
 */
export async function ensureLabBackupTarget(state: LabState, append: TargetLogin[], prune: TargetLogin[], log: (line: string) => void): Promise<void> {
  const { cert, key } = await targetCertificate(state.hosts[BACKUP_TARGET.host].address);
  const files: Record<string, { content: string; mode: number }> = {
    [`${BACKUP_TARGET.confDir}/cert.pem`]: { content: cert, mode: 0o644 },
    [`${BACKUP_TARGET.confDir}/key.pem`]: { content: key, mode: 0o600 },
    "/etc/systemd/system/podkit-lab-restic-append.service": { content: unit("append", BACKUP_TARGET.appendPort, true), mode: 0o644 },
    "/etc/systemd/system/podkit-lab-restic-prune.service": { content: unit("prune", BACKUP_TARGET.prunePort, false), mode: 0o644 },
  };
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const script = [
    "set -eu", "changed=",
    // Both lab pods apply at once and each makes sure of its logins here: one at a time.
    "exec 9>/run/podkit-lab-backup-target.lock", "flock 9",
    `command -v rclone >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends rclone >/dev/null; changed=1; }`,
    `install -d -m 700 ${BACKUP_TARGET.confDir} ${BACKUP_TARGET.dataDir}`,
    // put <path> <mode> <base64>: writes only when the content differs.
    'put() { printf %s "$3" | base64 -d > "$1.new"; chmod "$2" "$1.new"; if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv -f "$1.new" "$1"; changed=1; fi; }',
    // merge <file> <base64 lines>: adds or replaces these users' lines, keeps the others'.
    'merge() { touch "$1"; printf %s "$2" | base64 -d > "$1.add"; u=$(cut -d: -f1 "$1.add" | paste -sd"|"); { grep -v -E "^($u):" "$1" || true; cat "$1.add"; } | sort > "$1.new"; rm -f "$1.add"; chmod 600 "$1.new"; if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else mv -f "$1.new" "$1"; changed=1; fi; }',
    ...Object.entries(files).map(([p, f]) => `put ${p} ${f.mode.toString(8)} ${b64(f.content)}`),
    `merge ${BACKUP_TARGET.confDir}/append.htpasswd ${b64(await htpasswd(append))}`,
    `merge ${BACKUP_TARGET.confDir}/prune.htpasswd ${b64(await htpasswd(prune))}`,
    'if [ -n "$changed" ]; then systemctl daemon-reload; systemctl enable -q podkit-lab-restic-append podkit-lab-restic-prune; systemctl restart podkit-lab-restic-append podkit-lab-restic-prune; echo CHANGED; fi',
    `for p in ${BACKUP_TARGET.appendPort} ${BACKUP_TARGET.prunePort}; do for i in $(seq 1 50); do timeout 1 bash -c "</dev/tcp/127.0.0.1/$p" 2>/dev/null && break; sleep 0.1; done; done`,
  ].join("\n");
  const ssh = await connectLabHost(state, BACKUP_TARGET.host);
  try {
    const r = await ssh.execCommand("bash -s", { stdin: script });
    if (r.code !== 0) throw new Error(`lab backup target: setting up host ${BACKUP_TARGET.host} failed: ${(r.stderr || r.stdout).trim()}`);
    if (r.stdout.includes("CHANGED")) log(`lab backup target: restic REST on ${hostFqdn(BACKUP_TARGET.host)}:${BACKUP_TARGET.appendPort} (append-only) and :${BACKUP_TARGET.prunePort} (prune) for ${append.map((l) => l.username).join(", ")}`);
  } finally {
    ssh.dispose();
  }
}

/**
 * A lab pod backing up to the lab's backup host: that "provider" must know the pod's logins
 * before the pod first backs up. The pods of one `podkit apply` (a room's eight seats) ask
 * in the same moment: their logins go to the backup host together, in one round-trip,
 * not in eight that would queue on its lock one after the other.
 */
export function provideLabBackupTarget(state: LabState, pod: Pod, log: (line: string) => void): Promise<void> {
  const rest = pod.stack.backup?.target.rest;
  if (!rest || !isLabTarget(state, rest.url) || !rest.username || !rest.password) return Promise.resolve();
  const secret = (name: string) => pod.secrets.get(name) ?? "";
  gathering ??= newBatch(state, log);
  gathering.append.push({ username: rest.username, password: secret(rest.password.secret) });
  if (rest.prune) gathering.prune.push({ username: rest.prune.username, password: secret(rest.prune.password.secret) });
  return gathering.done;
}

/** Logins asked for in this tick; sent once the tick is over. `log` is the first pod's: the line names every login. */
function newBatch(state: LabState, log: (line: string) => void): Batch {
  const append: TargetLogin[] = [];
  const prune: TargetLogin[] = [];
  const done = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
    gathering = undefined;
    return ensureLabBackupTarget(state, append, prune, log);
  });
  return { append, prune, done };
}

interface Batch {
  append: TargetLogin[];
  prune: TargetLogin[];
  done: Promise<void>;
}
let gathering: Batch | undefined;
