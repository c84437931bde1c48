// SSH host keys, pinned: podkit never trusts a key on first use. A pin is the
// key's SHA-256 fingerprint as `ssh-keygen -lf` prints it, which is also what
// node-ssh's hostVerifier receives with `hostHash: "sha256"` (base64 there).
import { createHash } from "node:crypto";

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) ([A-Za-z0-9+/]+={0,3})(?: .*)?$/;

/** "SHA256:..." (unpadded base64) of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
export function sshFingerprint(publicKeyLine: string): string {
  const m = KEY_LINE.exec(publicKeyLine.trim());
  if (!m) throw new Error(`not an OpenSSH public key line: ${publicKeyLine.slice(0, 40)}...`);
  const blob = Buffer.from(m[2], "base64");
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** A pin from what a stack file holds: a fingerprint as is, or a public key line turned into one. */
export function hostKeyPin(hostKey: string): string {
  return hostKey.startsWith("SHA256:") ? hostKey.replace(/=$/, "") : sshFingerprint(hostKey);
}

/** A known_hosts line pinning `publicKeyLine` for the given names and addresses (`[name]:port` when not 22). */
export function knownHostsLine(names: string[], port: number, publicKeyLine: string): string {
  const [type, blob] = publicKeyLine.trim().split(/\s+/);
  const hosts = [...new Set(names.filter(Boolean))].map((n) => (port === 22 ? n : `[${n}]:${port}`));
  return `${hosts.join(",")} ${type} ${blob}`;
}
