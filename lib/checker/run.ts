// Runs a command and collects what it printed; the checker tier's only way out to a process.
import { spawn } from "node:child_process";

export interface Ran {
  code: number;
  /** stdout and stderr interleaved, as a person at a terminal would read them. */
  output: string;
}

export function run(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
    child.stdin.end(opts.input ?? "");
  });
}

/** Like run, but a non-zero exit is an error carrying the output. */
export async function must(argv: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}:\n${r.output.trim().split("\n").slice(-30).join("\n")}`);
  return r.output;
}
