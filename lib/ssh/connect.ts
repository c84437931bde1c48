// The one way podkit opens SSH: the host key pinned (a key that does not match
// ends the connection before any command runs; there is no trust on first
// use), and a bounded wait for hosts that are still booting. Converge, the lab
// and the Pulumi role provider all connect through connectPinned.
//
// A box behind an edge (`hosts.box.edge: gw`) is reached through the edge, as
// `ssh -J gw box` would: podkit connects to the edge (its key pinned), opens a
// channel from it to the box's tunnel address, and runs the box's SSH
// handshake inside that channel (the box's key pinned too). The edge sees only
// encrypted bytes. Before the box's first apply there is no tunnel yet: the
// box is then reached once at its own address, on its LAN (`direct`).
import { NodeSSH } from "node-ssh";
import type { Duplex } from "node:stream";
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
  /**
   * The jump host: connected to first (its own pin, the same retry policy),
   * then `address:port` is reached from it. Closing the host closes the jump.
   */
  via?: HostTarget;
  /**
   * Where the host answers without `via` (a box's own address on its LAN):
   * tried once, and said so, when the way through `via` fails (the tunnel is
   * not up before a box's first apply). Same user, key and pin.
   */
  direct?: { address: string; port: number };
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
  /** Told what the wait is for (at the first retry, then at most every `sayEveryMs`), and when a host is reached `direct`ly instead of through its jump host. */
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

/** One handshake with `target`, over a TCP connection of its own or over `sock` (a channel through a jump host). */
async function attempt(target: HostTarget, timeoutMs: number, sock?: Duplex): Promise<NodeSSH> {
  const pin = parsePin(target.hostKey);
  let seen: string | undefined;
  const ssh = new NodeSSH();
  try {
    await ssh.connect({
      ...(sock ? { sock } : { host: target.address, port: target.port }),
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

/**
 * Connects to `target`, accepting only its pinned host key; retries as `policy`
 * allows. With `via`, through the jump host (each key pinned); with `direct`
 * too, at the direct address once when that fails for any reason but a wrong key.
 */
export async function connectPinned(target: HostTarget, policy: ConnectPolicy = ONE_ATTEMPT): Promise<NodeSSH> {
  if (!target.via) return withRetries(target, policy, () => attempt(target, policy.attemptTimeoutMs));
  try {
    // The jump host is waited for as any host; with a way around the tunnel, one try through it is
    // enough (a box that is still booting is waited for on the direct path).
    return await connectThrough(target, target.via, policy, target.direct ? { ...policy, waitMs: 0 } : policy);
  } catch (err) {
    if (!target.direct || err instanceof HostKeyMismatch) throw err;
    const { via: _via, direct, ...alone } = target;
    const there = { ...alone, ...direct };
    policy.say?.(`${target.name}: not reachable through its edge ${target.via.name} (${(err as Error).message}); ` +
      `connecting directly to ${there.address}:${there.port} instead, as before its first apply (the tunnel comes up with it)`);
    return withRetries(there, policy, () => attempt(there, policy.attemptTimeoutMs));
  }
}

/** `target` through the jump host `via`: the jump's connection lives as long as the target's. */
async function connectThrough(target: HostTarget, via: HostTarget, policy: ConnectPolicy, inner: ConnectPolicy): Promise<NodeSSH> {
  const jump = await connectPinned(via, policy);
  try {
    const ssh = await withRetries(target, inner, async () =>
      attempt(target, policy.attemptTimeoutMs, await channelTo(jump, target, via, policy.attemptTimeoutMs)));
    const dispose = ssh.dispose.bind(ssh);
    ssh.dispose = () => {
      dispose();
      jump.dispose();
    };
    // The host closing its side (a reboot) ends the jump's connection too.
    ssh.connection?.on("close", () => jump.dispose());
    return ssh;
  } catch (err) {
    jump.dispose();
    throw err;
  }
}

/**
 * A direct-tcpip channel from the jump host to `target`: what `ssh -J` opens.
 * Bounded by the attempt's limit: to a tunnel address whose tunnel is down,
 * the jump host's own connect would wait for TCP's timeout (minutes).
 */
function channelTo(jump: NodeSSH, target: HostTarget, via: HostTarget, timeoutMs: number): Promise<Duplex> {
  const where = `${via.name} could not open a connection to ${target.address}:${target.port}`;
  return new Promise((resolve, reject) => {
    let late = false;
    // Like a refused or timed-out TCP connect, it is what a host that is still booting gives: retried as those are.
    const timer = setTimeout(() => {
      late = true;
      reject(Object.assign(new Error(`${where} within ${Math.round(timeoutMs / 1000)} s`), { level: "client-timeout" }));
    }, timeoutMs);
    jump.forwardOut("127.0.0.1", 0, target.address, target.port).then((channel) => {
      clearTimeout(timer);
      if (late) channel.close();
      else resolve(channel as unknown as Duplex);
    }, (err: Error) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`${where}: ${err.message}`), { level: "client-socket" }));
    });
  });
}

async function withRetries(target: HostTarget, policy: ConnectPolicy, once: () => Promise<NodeSSH>): Promise<NodeSSH> {
  const until = Date.now() + policy.waitMs;
  let saidAt = 0;
  for (let tries = 1; ; tries++) {
    try {
      return await once();
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
