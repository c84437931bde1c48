// The one way podkit opens SSH: the host key pinned (a key that does not match
// ends the connection before any command runs; there is no trust on first
// use), and a bounded wait for hosts that are still booting. Converge, the lab
// and the Pulumi role provider all connect through connectPinned.
import { NodeSSH } from "node-ssh";
import { fingerprint, parsePin } from "./keys";

export interface HostTarget {
  /** Host name in the stack (or the lab), for messages. */
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

/**
 * How long to keep trying. A host that is still booting refuses, resets or
 * times out: those are retried until `waitMs` has passed. A wrong host key or
 * a refused login is never retried: waiting does not fix either.
 */
export interface ConnectPolicy {
  /** One attempt's limit, handshake included. */
  attemptTimeoutMs: number;
  /** How long after the first attempt a retry may still start; 0: one attempt. */
  waitMs: number;
  /** Pause between attempts. */
  retryEveryMs: number;
  /** Asked before each retry: an error ends the wait with it (the host stopped booting, say). */
  giveUp?: () => Error | undefined;
  /** Told what the wait is for: at the first retry, then at most every `sayEveryMs`. */
  say?: (message: string) => void;
  /** Default 30 s. */
  sayEveryMs?: number;
}

/** One attempt, as `podkit apply` has always connected to a host that should be up. */
export const ONE_ATTEMPT: ConnectPolicy = { attemptTimeoutMs: 15000, waitMs: 0, retryEveryMs: 0 };

export class HostKeyMismatch extends Error {}

/** Errors a booting host gives: nothing listens yet, the network is not up, sshd restarts. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof HostKeyMismatch || !(err instanceof Error)) return false;
  const e = err as Error & { level?: string; code?: string };
  if (e.level === "client-authentication") return false;
  return e.level === "client-socket" || e.level === "client-timeout" || e.code === "ETIMEDOUT" ||
    /Connection lost before handshake|No response from server|Timed out while waiting for handshake/.test(e.message);
}

async function attempt(target: HostTarget, timeoutMs: number): Promise<NodeSSH> {
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
      // Ask for the pinned key's type only, so a server that also has other keys cannot answer with one never pinned.
      algorithms: { serverHostKey: [(pin.keyType ?? "ssh-ed25519") as "ssh-ed25519"] },
      // Without hostHash, ssh2 hands over the raw key blob.
      hostVerifier: (key: Buffer) => {
        seen = fingerprint(key);
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
    throw err;
  }
  return ssh;
}

/** Connects to `target`, accepting only its pinned host key; retries as `policy` allows. */
export async function connectPinned(target: HostTarget, policy: ConnectPolicy = ONE_ATTEMPT): Promise<NodeSSH> {
  const until = Date.now() + policy.waitMs;
  let saidAt = 0;
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(target, policy.attemptTimeoutMs);
    } catch (err) {
      if (err instanceof HostKeyMismatch) throw err;
      if (!isRetryable(err) || Date.now() >= until) {
        const attempts = tries > 1 ? ` (${tries} attempts in ${Math.round(policy.waitMs / 1000)} s)` : "";
        throw new Error(`${target.name} (${target.address}:${target.port}): cannot connect over SSH${attempts}: ${(err as Error).message}`, { cause: err });
      }
      const reason = policy.giveUp?.();
      if (reason) throw reason;
      if (policy.say && Date.now() - saidAt >= (policy.sayEveryMs ?? 30_000)) {
        saidAt = Date.now();
        const left = Math.max(0, Math.round((until - Date.now()) / 1000));
        policy.say(`${target.name} (${target.address}:${target.port}): waiting for SSH to answer with the pinned host key ` +
          `(a new server boots and runs cloud-init first; last: ${(err as Error).message}); ${left} s left`);
      }
      await new Promise((r) => setTimeout(r, policy.retryEveryMs));
    }
  }
}
