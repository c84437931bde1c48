// One SSH session per host and run, opened through the pinned connect
// (lib/ssh/connect.ts): converge runs its scripts as root over it.
import type { NodeSSH } from "node-ssh";
import { connectPinned, ONE_ATTEMPT, type ConnectPolicy, type HostTarget } from "../ssh/connect";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Who sees a script's output while it runs. */
export interface Watch {
  stdout?: (chunk: string) => void;
}

export class Session {
  private constructor(readonly target: HostTarget, private readonly ssh: NodeSSH) {}

  static async open(target: HostTarget, policy: ConnectPolicy = ONE_ATTEMPT): Promise<Session> {
    return new Session(target, await connectPinned(target, policy));
  }

  /**
   * Runs a bash script (as root: through sudo -n when the user is not root).
   * `watch.stdout` sees the output as it arrives (apt's status lines, for progress).
   */
  async run(script: string, watch: Watch = {}): Promise<ExecResult> {
    const shell = this.target.user === "root" ? "bash -s" : "sudo -n bash -s";
    const onStdout = watch.stdout;
    const r = await this.ssh.execCommand(shell, { stdin: script, ...(onStdout ? { onStdout: (chunk: Buffer) => onStdout(chunk.toString("utf8")) } : {}) });
    return { code: r.code ?? 255, stdout: r.stdout, stderr: r.stderr };
  }

  /** Runs a script and fails with its output when it exits non-zero. */
  async must(script: string, what: string, watch: Watch = {}): Promise<string> {
    const r = await this.run(script, watch);
    if (r.code !== 0) throw new Error(`${this.target.name}: ${what} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-2000)}`);
    return r.stdout;
  }

  close(): void {
    this.ssh.dispose();
  }
}
