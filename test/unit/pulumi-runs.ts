// Runs of the Pulumi program one after another, each in its own process, the
// later ones given the resources the earlier left (as `pulumi up` leaves
// state): what a volunteer's second `pulumi up`, or the one after an edit to
// the stack file, would plan.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { RunResource } from "./provider-model";
import { HETZNER_SECRETS } from "./pulumi-mocks";
import type { RunRequest, RunResult } from "./pulumi-run";

export const ROOT = resolve(__dirname, "../..");

/** stacks/hetzner.yaml's configuration: its secrets, provider tokens, and optionally another stack file. */
export function hetznerConfig(stackFile?: string): Pick<RunRequest, "config" | "secretKeys"> {
  return {
    config: { ...HETZNER_SECRETS, "hcloud:token": "t", "cloudflare:apiToken": "t", ...(stackFile ? { "podkit:stackFile": stackFile } : {}) },
    secretKeys: Object.keys(HETZNER_SECRETS),
  };
}

export function runProgram(config: Pick<RunRequest, "config" | "secretKeys">, previous?: RunResource[]): RunResource[] {
  const { result, stderr } = runProgramFully({ ...config, previous });
  if (result.failures.length) throw new Error(`the program failed:\n${result.failures.join("\n")}\n${stderr}`);
  return result.resources;
}

/** A run with everything it said on stderr (Pulumi's log without an engine) and the registrations that failed. */
export function runProgramFully(opts: Omit<RunRequest, "root" | "stack">): { result: RunResult; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), "podkit-run-"));
  const req: RunRequest = { root: ROOT, stack: "hetzner", ...opts };
  writeFileSync(join(dir, "request.json"), JSON.stringify(req));
  const run = spawnSync(process.execPath, ["--import", "tsx", join(__dirname, "pulumi-run.ts"), join(dir, "request.json"), join(dir, "result.json")],
    { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  try {
    if (run.status !== 0) throw new Error(`the run stopped (${run.status ?? run.signal}):\n${run.stderr}`);
    return { result: JSON.parse(readFileSync(join(dir, "result.json"), "utf8")) as RunResult, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** stacks/hetzner.yaml with `edit` applied, written to a temporary file: its path. */
export function editedHetznerStack(edit: (text: string) => string): string {
  const text = readFileSync(join(ROOT, "stacks/hetzner.yaml"), "utf8");
  const edited = edit(text);
  if (edited === text) throw new Error("the edit changed nothing");
  const file = join(mkdtempSync(join(tmpdir(), "podkit-stack-")), "hetzner.yaml");
  writeFileSync(file, edited.replace("$schema=../schema/", `$schema=${ROOT}/schema/`));
  return file;
}
