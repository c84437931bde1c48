// The public half of the key podkit logs in with. The base role keeps it in the
// one authorized keys file sshd reads (roles/base), next to the admins' keys:
// an apply that switches sshd to that file must never lock podkit itself out.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { bareKey } from "./keys";

/** The one authorized keys file sshd reads for `user` on a pod host (AuthorizedKeysFile, roles/base). */
export const authorizedKeysPath = (user: string): string => `/etc/ssh/authorized_keys.d/${user}`;

/** What ssh2's utils.parseKey gives (ssh2 ships no types). */
interface ParsedKey {
  type: string;
  getPublicSSH(): Buffer;
}

/** "ssh-ed25519 AAAA... podkit" from an OpenSSH or PEM private key (unencrypted), or undefined when it cannot be read. */
export function publicKeyOfPrivateKey(privateKey: string, comment = "podkit"): string | undefined {
  // Loaded here, not at the top: the Pulumi program's modules stay light to import.
  const { utils } = require("ssh2") as { utils: { parseKey(key: string): ParsedKey | ParsedKey[] | Error } };
  const parsed = utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) return undefined;
  return usable(`${key.type} ${key.getPublicSSH().toString("base64")} ${comment}`);
}

/** The key line when it is of a type an authorized keys line of podkit's may hold (lib/ssh/keys.ts), else undefined. */
function usable(line: string): string | undefined {
  try {
    bareKey(line);
    return line;
  } catch {
    return undefined;
  }
}

/**
 * The public key of a private key file: its `.pub` beside it (what ssh-keygen
 * writes, and the only way to read an encrypted key's), else derived from it.
 * undefined when neither can be read.
 */
export function publicKeyOfKeyFile(privateKeyPath: string): string | undefined {
  try {
    const pub = fs.readFileSync(`${privateKeyPath}.pub`, "utf8").trim();
    if (pub) return usable(pub);
  } catch {
    // no .pub: derive it below
  }
  try {
    return publicKeyOfPrivateKey(fs.readFileSync(privateKeyPath, "utf8"));
  } catch {
    return undefined;
  }
}

/** The public keys the SSH agent holds (`ssh-add -L`); none without an agent. */
export function agentPublicKeys(): string[] {
  if (!process.env.SSH_AUTH_SOCK) return [];
  const r = spawnSync("ssh-add", ["-L"], { encoding: "utf8", timeout: 10_000 });
  if (r.status !== 0) return [];
  return r.stdout.split("\n").map((l) => usable(l.trim())).filter((l): l is string => l !== undefined);
}
