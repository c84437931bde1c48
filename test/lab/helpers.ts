// Shared by the lab tests (run one file at a time, in name order): bring the lab up if it
// is not, run podkit's CLI, run commands on lab hosts over SSH with pinned keys.
import { execFile } from "node:child_process";
import * as path from "node:path";
import type { TestContext } from "node:test";
import { labProblems } from "../../lib/lab/lab";
import { connectLabHost } from "../../lib/lab/ssh";
import { type LabState, readLabState } from "../../lib/lab/state";

export const REPO = path.resolve(__dirname, "..", "..");

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root; never throws on a non-zero exit. */
export function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: REPO, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `podkit <args>` as a user runs it (bin/podkit.js through tsx). */
export function podkit(...args: string[]): Promise<Run> {
  return run(process.execPath, [path.join(REPO, "bin", "podkit.js"), ...args]);
}

/** The running lab; brings it up first if it is down or broken. */
export async function ensureLab(): Promise<LabState> {
  const state = readLabState();
  if (state && !(await labProblems()).length) return state;
  if (state) await podkit("lab", "down");
  const up = await podkit("lab", "up");
  if (up.code !== 0) throw new Error(`podkit lab up failed (${up.code}):\n${up.stderr}\n${up.stdout}`);
  const fresh = readLabState();
  if (!fresh) throw new Error("podkit lab up succeeded but wrote no state file");
  return fresh;
}

/** Runs a shell command as root on lab host `name`, connecting with its pinned host key. */
export async function onHost(state: LabState, name: string, command: string): Promise<Run> {
  const ssh = await connectLabHost(state, name);
  try {
    const r = await ssh.execCommand(command);
    return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    ssh.dispose();
  }
}

/** Prints the lab's timings into the test output. */
export function reportTimings(t: TestContext, state: LabState): void {
  const s = (ms: number | null | undefined) => (ms == null ? "-" : `${(ms / 1000).toFixed(2)} s`);
  for (const [name, h] of Object.entries(state.timings.hosts)) {
    t.diagnostic(`host ${name}: created in ${s(h.createMs)}, booted to SSH in ${s(h.bootMs)}, total ${s(h.totalMs)}`);
  }
  t.diagnostic(`whole lab up in ${s(state.timings.upMs)}; base tree ${state.timings.baseBuildMs ? `built in ${s(state.timings.baseBuildMs)}` : "cached"}`);
}
