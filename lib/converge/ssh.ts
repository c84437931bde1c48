// One SSH connection per host and run, with the host key pinned: a key that
// does not match the stack's (or the lab's, or Pulumi's) pin ends the
// connection before any command runs. There is no trust on first use.
import { createHash } from "node:crypto";
import { NodeSSH } from "node-ssh";

export interface HostTarget {
  /** Host name in the stack, for messages. */
  name: string;
  address: string;
  port: number;
  user: string;
  /** Pinned key: "ssh-ed25519 AAAA..." or "SHA256:...". */
  hostKey: string;
  /** PEM/OpenSSH private key text, or a path to one; without either the SSH agent is used. */
  privateKey?: string;
  privateKeyPath?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** OpenSSH-style fingerprint of a raw public key blob. */
export function fingerprintOfBlob(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/** The fingerprint a pin stands for, and the key type to ask the server for. */
export function parsePin(pin: string): { fingerprint: string; keyType?: string } {
  if (pin.startsWith("SHA256:")) return { fingerprint: pin.replace(/=+$/, "") };
  const [type, b64] = pin.trim().split(/\s+/);
  return { fingerprint: fingerprintOfBlob(Buffer.from(b64, "base64")), keyType: type };
}

export class HostKeyMismatch extends Error {}

export class Session {
  private constructor(readonly target: HostTarget, private readonly ssh: NodeSSH) {}

  static async open(target: HostTarget, timeoutMs = 15000): Promise<Session> {
    const pin = parsePin(target.hostKey);
    let seen: string | undefined;
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: target.address,
        port: target.port,
        username: target.user,
        privateKey: target.privateKey,
        privateKeyPath: target.privateKeyPath,
        agent: target.privateKey || target.privateKeyPath ? undefined : process.env.SSH_AUTH_SOCK,
        readyTimeout: timeoutMs,
        // Ask for the pinned key's type, so a server that also has other keys shows the pinned one.
        algorithms: { serverHostKey: pin.keyType ? [pin.keyType as "ssh-ed25519"] : ["ssh-ed25519"] },
        hostVerifier: (key: Buffer) => {
          seen = fingerprintOfBlob(key);
          return seen === pin.fingerprint;
        },
      });
    } catch (err) {
      ssh.dispose();
      if (seen && seen !== pin.fingerprint) {
        throw new HostKeyMismatch(
          `${target.name} (${target.address}:${target.port}): host key ${seen} does not match the pinned ${pin.fingerprint}. ` +
            "If the host was reinstalled, check the new key on its console and update the pin; otherwise someone may be in the middle.",
        );
      }
      throw new Error(`${target.name} (${target.address}:${target.port}): cannot connect over SSH: ${(err as Error).message}`);
    }
    return new Session(target, ssh);
  }

  /** Runs a bash script (as root: through sudo -n when the user is not root). */
  async run(script: string): Promise<ExecResult> {
    const shell = this.target.user === "root" ? "bash -s" : "sudo -n bash -s";
    const r = await this.ssh.execCommand(shell, { stdin: script });
    return { code: r.code ?? 255, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a script and fails with its output when it exits non-zero. */
  async must(script: string, what: string): Promise<string> {
    const r = await this.run(script);
    if (r.code !== 0) throw new Error(`${this.target.name}: ${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
    return r.stdout;
  }

  close(): void {
    this.ssh.dispose();
  }
}
