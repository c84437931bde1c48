// Background daemons without systemd on the outer machine: each lab daemon is spawned
// detached (own session, survives the CLI), its pid kept in RUN_DIR/pid/<name>.pid and
// its output in RUN_DIR/log/<name>.log. `down` stops them through these files.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PATHS } from "./config";

export function pidFile(name: string): string {
  return path.join(PATHS.pids, `${name}.pid`);
}

export function logFile(name: string): string {
  return path.join(PATHS.logs, `${name}.log`);
}

/** Starts `cmd args` detached with stdio to its log file; returns the pid (also written to the pid file). */
export function startDaemon(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  fs.mkdirSync(PATHS.pids, { recursive: true });
  fs.mkdirSync(PATHS.logs, { recursive: true });
  const log = fs.openSync(logFile(name), "w"); // one log per `up`
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", log, log], env: { ...process.env, ...env } });
  fs.closeSync(log);
  if (!child.pid) throw new Error(`lab: could not start ${name} (${cmd})`);
  child.unref();
  fs.writeFileSync(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

export function readPid(name: string): number | null {
  try {
    const pid = Number(fs.readFileSync(pidFile(name), "utf8").trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers kill(0); it is not running.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

export function daemonAlive(name: string): boolean {
  const pid = readPid(name);
  return pid !== null && isAlive(pid);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sends `signal`, waits up to `graceMs` for the process to exit, then SIGKILLs it. Safe if it is already gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  for (let waited = 0; waited < graceMs; waited += 50) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* gone */
  }
  for (let waited = 0; waited < 2000 && isAlive(pid); waited += 50) await sleep(50);
}

/** Stops the daemon named in its pid file and removes the file. */
export async function stopDaemon(name: string, signal: NodeJS.Signals = "SIGTERM", graceMs = 3000): Promise<void> {
  const pid = readPid(name);
  if (pid !== null) await stopPid(pid, signal, graceMs);
  fs.rmSync(pidFile(name), { force: true });
}

/** Names of every daemon with a pid file (running or not): what `down` must stop after a crash. */
export function knownDaemons(): string[] {
  try {
    return fs.readdirSync(PATHS.pids).filter((f) => f.endsWith(".pid")).map((f) => f.slice(0, -4));
  } catch {
    return [];
  }
}

export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 100): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`lab: timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
