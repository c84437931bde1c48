// SSH with pinned host keys, lab side: the lab's root key pair, host key fingerprints,
// the known_hosts file, and a node-ssh connection that refuses any key but the pinned one.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { NodeSSH } from "node-ssh";
import { $ } from "./sh";
import { PATHS } from "./config";
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

/** "ssh-ed25519 AAAA... comment" -> "ssh-ed25519 AAAA..." (type and key only, the part that is pinned). */
export function bareKey(publicKeyLine: string): string {
  const [type, blob] = publicKeyLine.trim().split(/\s+/);
  if (!type || !blob) throw new Error(`not an OpenSSH public key: ${publicKeyLine.slice(0, 40)}`);
  return `${type} ${blob}`;
}

/** SHA256 fingerprint exactly as `ssh-keygen -lf` prints it: unpadded base64 of the key blob's SHA-256. */
export function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(bareKey(publicKeyLine).split(" ")[1], "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
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

export class HostKeyMismatchError extends Error {}

/**
 * Connects as root to `address`, accepting only a host key equal to `pinnedKey`
 * ("ssh-ed25519 AAAA..."). A different key fails with HostKeyMismatchError.
 */
export async function connectPinned(address: string, pinnedKey: string, privateKeyPath: string, readyTimeout = 5000): Promise<NodeSSH> {
  const [type, blob] = bareKey(pinnedKey).split(" ");
  const pinned = Buffer.from(blob, "base64");
  let mismatch = false;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      host: address,
      username: "root",
      privateKeyPath,
      readyTimeout,
      // Offer only the pinned key's type, so the server cannot answer with another key we never pinned.
      algorithms: { serverHostKey: [type as "ssh-ed25519"] },
      // Without hostHash, ssh2 hands the raw key blob: compare it byte for byte with the pinned one.
      hostVerifier: (key: Buffer) => {
        mismatch = !pinned.equals(key);
        return !mismatch;
      },
    });
  } catch (err) {
    ssh.dispose();
    if (mismatch) throw new HostKeyMismatchError(`host key of ${address} does not match the pinned ${fingerprint(pinnedKey)}: refusing to connect`);
    throw err;
  }
  return ssh;
}

/** Connects to lab host `name` of a running lab with its pinned key. */
export function connectLabHost(state: LabState, name: string): Promise<NodeSSH> {
  const h = state.hosts[name];
  if (!h) throw new Error(`no lab host "${name}" (hosts: ${Object.keys(state.hosts).join(", ")})`);
  return connectPinned(h.address, h.hostKey, h.sshPrivateKeyPath);
}
