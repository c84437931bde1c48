// One apply per host at a time. Two admins of a pod on hackspace Wi-Fi can
// start `podkit apply` at the same moment; their runs would interleave on the
// host (two stagings, two reloads, one rollback undoing the other's change).
// So every run that changes a host (apply, backup, restore, the Pulumi role
// resources) first takes a lock on the host and keeps it for the run.
//
// The lock is flock(1) on /run/podkit/apply.lock, held by a command on its own
// SSH channel for as long as the run lasts. It dies with that command, and the
// command ends when the channel closes (podkit ended, or killed: sshd closes
// it) or when podkit's heartbeat (a byte every few seconds on its stdin) stops
// for HEARTBEAT_LOST_S: a laptop that lost the network leaves an SSH
// connection the host believes open for hours, and its lock must not outlive
// it. So a lock whose holder is gone is taken over without anyone deciding it
// is stale; /run is emptied by a reboot too. Next to the lock a line says who
// holds it (admin machine, user, start, podkit version, pid), which a second
// run prints while it waits, and with its refusal when the wait runs out.
import { readFileSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../paths";
import { shellQuote as q } from "../ssh/shell";
import { LOCK_DIR_ON_HOST, type Channel, type Session } from "./ssh";

export const LOCK_DIR = LOCK_DIR_ON_HOST;
export const LOCK_FILE = `${LOCK_DIR}/apply.lock`;

/** Where the lock lives and how long silence ends it (tests use a dir of their own and a short silence). */
export interface LockPlace {
  dir: string;
  lostS: number;
}
/** How long a second run waits by default (podkit apply --lock-wait). */
export const DEFAULT_LOCK_WAIT_S = 120;
/** podkit writes a heartbeat this often... */
const HEARTBEAT_EVERY_MS = 5000;
/** ...and the host lets the lock go after this long without one. */
export const HEARTBEAT_LOST_S = 30;

const LOCKED = "podkit:locked";
const BUSY = "podkit:lock-busy";
const GAVE_UP = "podkit:lock-timeout";
const LEFTOVERS = "podkit:leftovers";
/** How long a run waits for the scripts a killed run left running (an apt install, a restart). */
const LEFTOVERS_WAIT_S = 600;

/** Who holds the lock: written by the holder, shown to whoever waits. */
export interface Holder {
  /** The admin machine podkit runs on. */
  machine: string;
  user: string;
  /** ISO time the run started. */
  started: string;
  version: string;
  pid: number;
  /** "apply", "backup", "restore", "pulumi mail": what holds the host. */
  what: string;
}

/** podkit's version, from its package.json. */
export function podkitVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version?: string }).version ?? "?";
  } catch {
    return "?";
  }
}

/** This process as a holder. */
export function thisRun(what: string, version = podkitVersion(), now = new Date()): Holder {
  let user = "unknown";
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (a container's uid): the uid is all there is.
  }
  return { machine: hostname(), user, started: now.toISOString(), version, pid: process.pid, what };
}

/** One line, key=value separated by tabs: values are an admin machine's names, never a tab. */
export function formatHolder(h: Holder): string {
  return Object.entries(h).map(([k, v]) => `${k}=${String(v).replace(/[\t\n]/g, " ")}`).join("\t");
}

export function parseHolder(line: string): Holder | undefined {
  const f = Object.fromEntries(line.trim().split("\t").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  if (!f.machine || !f.user || !f.started || !f.pid) return undefined;
  return { machine: f.machine, user: f.user, started: f.started, version: f.version ?? "?", pid: Number(f.pid), what: f.what ?? "?" };
}

/** "podkit apply by alice on laptop (pid 4242, podkit 0.1.0), started 12:01:02 UTC, 3 min ago". */
export function describeHolder(h: Holder | undefined, now = new Date()): string {
  if (!h) return "another podkit run (it has not said who it is yet)";
  const started = new Date(h.started);
  const ago = Math.max(0, Math.round((now.getTime() - started.getTime()) / 1000));
  const since = Number.isNaN(ago) ? h.started : `started ${started.toISOString().slice(11, 19)} UTC, ${ago < 120 ? `${ago}s` : `${Math.round(ago / 60)} min`} ago`;
  return `podkit ${h.what} by ${h.user} on ${h.machine} (pid ${h.pid}, podkit ${h.version}), ${since}`;
}

/**
 * The command that holds the lock: takes it (waiting up to `waitS`, a line
 * every 15 s naming the holder), writes who holds it, says so, then stays
 * while heartbeats come. Exit 75 when the wait ran out.
 */
export function lockScript(holder: Holder, waitS: number, at: LockPlace = { dir: LOCK_DIR, lostS: HEARTBEAT_LOST_S }): string {
  const lockFile = `${at.dir}/apply.lock`;
  const holderFile = `${at.dir}/apply.holder`;
  const step = Math.max(1, Math.min(15, waitS));
  const busy = `echo "${BUSY} $(cat ${q(holderFile)} 2>/dev/null)"`;
  return [
    "set -u",
    `install -d -m 755 ${q(at.dir)}`,
    `exec 9>>${q(lockFile)}`,
    `if ! flock -n 9; then`,
    `  ${busy}; waited=0`,
    `  until flock -w ${step} 9; do`,
    `    waited=$((waited + ${step})); [ "$waited" -lt ${waitS} ] || { echo "${GAVE_UP} $(cat ${q(holderFile)} 2>/dev/null)"; exit 75; }`,
    `    ${busy}`,
    "  done",
    "fi",
    `printf '%s\\n' ${q(formatHolder(holder))} > ${q(`${holderFile}.new`)} && mv -f ${q(`${holderFile}.new`)} ${q(holderFile)}`,
    // A killed run's scripts may still be running (each holds the work lock shared,
    // lib/converge/ssh.ts): wait until they are done, then let go for this run's own.
    `exec 8>>${q(`${at.dir}/work.lock`)}`,
    `if ! flock -n -x 8; then`,
    `  echo ${LEFTOVERS}`,
    `  flock -w ${LEFTOVERS_WAIT_S} -x 8 || { echo "${GAVE_UP} $(cat ${q(holderFile)} 2>/dev/null)"; rm -f ${q(holderFile)}; exit 75; }`,
    "fi",
    "flock -u 8; exec 8>&-",
    `echo ${LOCKED}`,
    // Held while heartbeats come: end-of-file (podkit done, or killed) or silence ends it, and the lock with it.
    `while IFS= read -r -n 1 -t ${at.lostS} _; do :; done`,
    `rm -f ${q(holderFile)}`,
  ].join("\n");
}

/** A lock held on a host; `release` lets it go (closing the channel does too). */
export interface HostLock {
  release(): Promise<void>;
}

/** The host is held by another run and the wait ran out: exit 75 (EX_TEMPFAIL), try again later. */
export class HostBusy extends Error {
  constructor(readonly host: string, readonly holder: Holder | undefined, waitS: number) {
    super(`${host}: another run holds the host after ${waitS}s of waiting: ${describeHolder(holder)}. ` +
      `Try again when it has finished (or wait longer: --lock-wait <seconds>); a run that was killed lets go within ${HEARTBEAT_LOST_S}s.`);
  }
}

export interface LockOptions {
  holder: Holder;
  waitS?: number;
  /** Lines while waiting: who holds the host. */
  say?: (line: string) => void;
  /** For tests: the lock elsewhere, a shorter silence, a faster heartbeat. */
  at?: LockPlace & { heartbeatMs?: number };
}

/** Takes the host's lock for this run, waiting for another run up to `waitS`. */
export async function lockHost(session: Session, o: LockOptions): Promise<HostLock> {
  const host = session.target.name;
  const waitS = o.waitS ?? DEFAULT_LOCK_WAIT_S;
  let locked!: () => void;
  const got = new Promise<void>((resolve) => (locked = resolve));
  let gaveUp: Holder | undefined;
  let refused = false;
  const channel: Channel = await session.hold(`bash -c ${q(lockScript(o.holder, waitS, o.at))}`, (line) => {
    if (line === LOCKED) return locked();
    if (line === LEFTOVERS) o.say?.(`${host}: waiting for what a run that was cut off left running on the host to finish (up to ${LEFTOVERS_WAIT_S}s)`);
    if (line.startsWith(BUSY)) o.say?.(`${host}: waiting for the host, which another run holds: ${describeHolder(parseHolder(line.slice(BUSY.length)))} (up to ${waitS}s)`);
    if (line.startsWith(GAVE_UP)) {
      refused = true;
      gaveUp = parseHolder(line.slice(GAVE_UP.length));
    }
  });
  const beat = setInterval(() => channel.write("."), o.at?.heartbeatMs ?? HEARTBEAT_EVERY_MS);
  beat.unref();
  const ended = channel.closed.then(({ code, stderr }) => {
    clearInterval(beat);
    if (refused) throw new HostBusy(host, gaveUp, waitS);
    throw new Error(`${host}: taking the host's lock (${LOCK_FILE}) failed (exit ${code})${stderr ? `: ${stderr}` : ""}`);
  });
  await Promise.race([got, ended]);
  // From here the channel ending is the release, not an error.
  ended.catch(() => undefined);
  return {
    async release() {
      clearInterval(beat);
      channel.end();
      await Promise.race([channel.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}

/** Runs `body` with the host locked; the lock goes when it ends, however it ends. */
export async function withHostLock<T>(session: Session, o: LockOptions, body: () => Promise<T>): Promise<T> {
  const lock = await lockHost(session, o);
  try {
    return await body();
  } finally {
    await lock.release();
  }
}
