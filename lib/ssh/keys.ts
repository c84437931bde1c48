// SSH host keys and pins, pure: podkit never trusts a key on first use. A pin is
// a public key line ("ssh-ed25519 AAAA...") or its SHA-256 fingerprint as
// `ssh-keygen -lf` prints it ("SHA256:<unpadded base64>"). The Pulumi program,
// the lab and converge all fingerprint keys here, so a pin means the same
// thing whichever side wrote it.
import { createHash } from "node:crypto";

const KEY_LINE = /^(ssh-ed25519|ecdsa-sha2-nistp(?:256|384|521)|ssh-rsa) ([A-Za-z0-9+/]+={0,3})(?: .*)?$/;

/** "ssh-ed25519 AAAA... comment" -> "ssh-ed25519 AAAA..." (type and key only, the part that is pinned). */
export function bareKey(publicKeyLine: string): string {
  const m = KEY_LINE.exec(publicKeyLine.trim());
  if (!m) throw new Error(`not an OpenSSH public key line: ${publicKeyLine.slice(0, 40)}...`);
  return `${m[1]} ${m[2]}`;
}

/**
 * "SHA256:..." of a public key line, or of the raw key blob the server sent
 * (what ssh2's hostVerifier receives without hostHash).
 */
export function fingerprint(key: string | Buffer): string {
  const blob = typeof key === "string" ? Buffer.from(bareKey(key).split(" ")[1], "base64") : key;
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The fingerprint a pin stands for, and, for a key line, the key type to ask the server for. */
export function parsePin(pin: string): { fingerprint: string; keyType?: string } {
  if (pin.startsWith("SHA256:")) return { fingerprint: pin.replace(/=+$/, "") };
  return { fingerprint: fingerprint(pin), keyType: bareKey(pin).split(" ")[0] };
}

/** A known_hosts line pinning `publicKeyLine` for the given names and addresses (`[name]:port` when not 22). */
export function knownHostsLine(names: string[], port: number, publicKeyLine: string): string {
  const hosts = [...new Set(names.filter(Boolean))].map((n) => (port === 22 ? n : `[${n}]:${port}`));
  return `${hosts.join(",")} ${bareKey(publicKeyLine)}`;
}
