// SSH with pinned host keys, lab side: the lab's root key pair, the known_hosts
// file, and the lab's hosts as targets of the one pinned connect (lib/ssh).
import * as fs from "node:fs";
import * as path from "node:path";
import type { NodeSSH } from "node-ssh";
import { connectPinned, type HostTarget } from "../ssh/connect";
import { PATHS } from "./config";
import { LabError } from "./errors";
import { hostRunning } from "./host";
import { $ } from "./sh";
import type { LabState } from "./state";

/** Creates the lab's root key pair once (LAB_DIR/ssh, dir 0700, key 0600); returns the public key line. */
export async function ensureLabKey(): Promise<string> {
  const dir = path.dirname(PATHS.sshKey);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  if (!fs.existsSync(PATHS.sshKey) || !fs.existsSync(`${PATHS.sshKey}.pub`)) {
    fs.rmSync(PATHS.sshKey, { force: true });
    fs.rmSync(`${PATHS.sshKey}.pub`, { force: true });
    await $({ quiet: true })`ssh-keygen -q -t ed25519 -N ${""} -C podkit-lab -f ${PATHS.sshKey}`;
  }
  fs.chmodSync(PATHS.sshKey, 0o600);
  return fs.readFileSync(`${PATHS.sshKey}.pub`, "utf8").trim();
}

/** One line per host: `<address>,<fqdn> <key>`; for ssh's UserKnownHostsFile with StrictHostKeyChecking=yes. */
export function knownHostsText(state: Pick<LabState, "hosts">): string {
  return Object.values(state.hosts).map((h) => `${h.address},${h.fqdn} ${h.hostKey}\n`).join("");
}

/** ssh(1) arguments that log in as root with the lab key and accept only the pinned key. */
export function sshArgs(state: LabState, host: string): string[] {
  const h = state.hosts[host];
  if (!h) throw new Error(`no lab host "${host}" (hosts: ${Object.keys(state.hosts).join(", ")})`);
  return ["-i", h.sshPrivateKeyPath, "-o", `UserKnownHostsFile=${state.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", `${h.user}@${h.address}`];
}

/** Lab host `name` as an SSH target: root, the lab key, its pinned host key. */
export function labTarget(name: string, address: string, hostKey: string): HostTarget {
  return { name, address, port: 22, user: "root", hostKey, privateKeyPath: PATHS.sshKey };
}

/** Connects to lab host `name` of a running lab with its pinned key. */
export function connectLabHost(state: LabState, name: string): Promise<NodeSSH> {
  const h = state.hosts[name];
  if (!h) throw new Error(`no lab host "${name}" (hosts: ${Object.keys(state.hosts).join(", ")})`);
  return connectPinned({ ...labTarget(name, h.address, h.hostKey), user: h.user, privateKeyPath: h.sshPrivateKeyPath }, { attemptTimeoutMs: 5000, waitMs: 0, retryEveryMs: 0 });
}

/**
 * Waits until a freshly booted lab host answers SSH with its pinned key (a
 * host boots to sshd in about 1.5 s), and stops waiting if it stops running.
 */
export async function waitForLabSsh(name: string, address: string, hostKey: string): Promise<void> {
  const stopped = () => (hostRunning(name) ? undefined : new LabError(`host ${name} stopped while booting; see ${PATHS.logs}/host-${name}.log`));
  try {
    (await connectPinned(labTarget(name, address, hostKey), { attemptTimeoutMs: 2000, waitMs: 20000, retryEveryMs: 100, giveUp: stopped })).dispose();
  } catch (err) {
    throw err instanceof LabError ? err : new LabError((err as Error).message);
  }
}
