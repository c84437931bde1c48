// A server podkit just created is reachable over SSH before it is ready:
// cloud-init is still running its first boot (it installed the pinned host
// key, and may still be setting the hostname, resizing the disk, writing
// apt sources). A role that installs packages then races it for the dpkg lock
// and the network config. So on a new machine every role first waits for
// `cloud-init status --wait`, bounded, saying what it waits for.
// https://cloudinit.readthedocs.io/en/latest/reference/cli.html#status
import type { ExecResult } from "./ssh";

/** The part of a Session this needs: running a script as root. */
export interface ScriptRunner {
  run(script: string): Promise<ExecResult>;
}

export interface FirstBootWait {
  /** Host name, for messages. */
  host: string;
  /** How long cloud-init may still run. */
  timeoutMs: number;
  /** Told once, when there is something to wait for. */
  say: (message: string) => void;
}

/** Exit codes of `cloud-init status --wait` (cloud-init 23.4 and later; older ones use 0 and 1). */
const DONE = 0;
const FAILED = 1;
const DONE_WITH_WARNINGS = 2;
/** timeout(1)'s code when the limit was reached. */
const TIMED_OUT = 124;

/** The state word `cloud-init status` prints ("done", "running", ...), "absent" without cloud-init. */
export const STATUS_SCRIPT = `command -v cloud-init >/dev/null 2>&1 || { echo absent; exit 0; }
cloud-init status 2>/dev/null | sed -n 's/^status: *//p' | head -n 1
`;

/** Waits until cloud-init has finished on the host; fails when it failed or does not finish in time. */
export async function waitForFirstBoot(session: ScriptRunner, w: FirstBootWait): Promise<"absent" | "done" | "waited"> {
  const now = (await session.run(STATUS_SCRIPT)).stdout.trim();
  if (now === "absent" || now === "disabled") return "absent";
  if (now === "done") return "done";
  const seconds = Math.max(1, Math.round(w.timeoutMs / 1000));
  w.say(`${w.host}: waiting for cloud-init to finish the first boot (status: ${now || "unknown"}), at most ${seconds} s`);
  const r = await session.run(`timeout ${seconds} cloud-init status --wait >/dev/null 2>&1; rc=$?; cloud-init status --long 2>&1 | tail -n 20; exit $rc`);
  if (r.code === DONE || r.code === DONE_WITH_WARNINGS) return "waited";
  if (r.code === TIMED_OUT) {
    throw new Error(`${w.host}: cloud-init was still running after ${seconds} s: ${r.stdout.trim()}. ` +
      "Look at /var/log/cloud-init-output.log on the host; `pulumi up` again continues once it has finished.");
  }
  const why = r.code === FAILED ? "cloud-init failed on the first boot" : `cloud-init status --wait exited ${r.code}`;
  throw new Error(`${w.host}: ${why}: ${(r.stdout || r.stderr).trim()}. The server is not what podkit asked for: ` +
    "read /var/log/cloud-init.log on the host, then replace the server (docs/pulumi.md, \"Replacing the server\").");
}
