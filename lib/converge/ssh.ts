// One SSH session per host and run, opened through the pinned connect
// (lib/ssh/connect.ts): converge runs its scripts as root over it.
import type { NodeSSH } from "node-ssh";
import { connectPinned, ONE_ATTEMPT, type ConnectPolicy, type HostTarget } from "../ssh/connect";
import { shellQuote as q } from "../ssh/shell";

/** Where the host lock lives (./host-lock.ts), and the lock every script of a run holds shared. */
export const LOCK_DIR_ON_HOST = "/run/podkit";
export const WORK_LOCK = `${LOCK_DIR_ON_HOST}/work.lock`;

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Who sees a script's output while it runs. */
export interface Watch {
  stdout?: (chunk: string) => void;
}

/** What ssh2's exec hands back (node-ssh types its client loosely): the part Session.hold uses. */
interface ExecStream {
  writable: boolean;
  write(text: string): void;
  end(): void;
  on(event: "data", f: (d: Buffer) => void): void;
  on(event: "close", f: (code: number | null) => void): void;
  stderr: { on(event: "data", f: (d: Buffer) => void): void };
}

/** A command held open on the host (Session.hold). */
export interface Channel {
  write(text: string): void;
  end(): void;
  /** Resolves when the command has ended, with its exit code and what it wrote to stderr. */
  closed: Promise<{ code: number; stderr: string }>;
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
    // Each script holds the work lock shared while it runs. A killed podkit leaves the
    // script it had started running on the host (sshd does not stop a command whose
    // channel closed); the next run's host lock waits for it (./host-lock.ts).
    const held = `bash -c ${q(`mkdir -p ${LOCK_DIR_ON_HOST} && exec flock -s ${WORK_LOCK} bash -s`)}`;
    const shell = this.target.user === "root" ? held : `sudo -n ${held}`;
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

  /**
   * Starts a command (as root) that runs as long as this channel is open: its
   * stdout lines go to `onLine`, `write` feeds its stdin, `end` closes the
   * channel (the command then reads end-of-file). For the host lock
   * (./host-lock.ts). The command travels on the command line, so holds no secret.
   */
  async hold(command: string, onLine: (line: string) => void): Promise<Channel> {
    const client = this.ssh.connection;
    if (!client) throw new Error(`${this.target.name}: not connected`);
    const shell = this.target.user === "root" ? command : `sudo -n ${command}`;
    return new Promise((resolve, reject) => {
      client.exec(shell, (err: Error | undefined, stream: ExecStream) => {
        if (err) return reject(err);
        let rest = "";
        let stderr = "";
        stream.on("data", (d: Buffer) => {
          const lines = (rest + d.toString("utf8")).split("\n");
          rest = lines.pop() ?? "";
          lines.forEach(onLine);
        });
        stream.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
        const closed = new Promise<{ code: number; stderr: string }>((done) =>
          stream.on("close", (code: number | null) => done({ code: code ?? 255, stderr: stderr.trim() })));
        resolve({
          write: (text: string) => { if (stream.writable) stream.write(text); },
          end: () => stream.end(),
          closed,
        });
      });
    });
  }

  close(): void {
    this.ssh.dispose();
  }
}
