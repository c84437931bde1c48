// A reader of `podkit howto`, as honest as a person with a terminal: it sees only
// the Markdown. It takes the ```sh blocks in order; a block whose first line is
// `# <NAME>: ...` (or `# <NAME> (secret name): ...`) makes a value, and its output
// without the final newline goes wherever <NAME> appears later; every other sh
// block is a step run on the host. Nothing here reads podkit's code or state.
import { spawnSync } from "node:child_process";

export interface MakeStep {
  kind: "make";
  placeholder: string;
  /** The stack secret the block names, when it names one: a reader may take its value from the secrets file. */
  secret?: string;
  script: string;
}
export interface RunStep {
  kind: "run";
  /** The heading the block sits under (`### Role mail`), for reports. */
  section: string;
  script: string;
}
export type Step = MakeStep | RunStep;

const MAKE_HEAD = /^# (<[A-Z0-9_]+>)(?: \(secret ([a-z0-9-]+)\))?:/;

export function readHowto(markdown: string): Step[] {
  const steps: Step[] = [];
  const lines = markdown.split("\n");
  let section = "";
  for (let i = 0; i < lines.length; i++) {
    if (/^#{2,3} /.test(lines[i])) section = lines[i].replace(/^#+ /, "");
    if (lines[i] !== "```sh") continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
    const script = body.join("\n");
    const make = MAKE_HEAD.exec(body[0] ?? "");
    steps.push(make ? { kind: "make", placeholder: make[1], ...(make[2] ? { secret: make[2] } : {}), script } : { kind: "run", section, script });
  }
  return steps;
}

/** Puts every known value in for its placeholder, as a reader pastes it. */
export function fill(script: string, values: Map<string, string>): string {
  let out = script;
  for (const [p, v] of values) out = out.split(p).join(v);
  return out;
}

/** Placeholders still in a text (a step that cannot run yet). */
export function unfilled(script: string): string[] {
  return [...new Set(script.match(/<[A-Z][A-Z0-9_]+>/g) ?? [])];
}

/**
 * Makes every value: a secret the caller already has (the pod's secrets file) is
 * taken as it is, the rest are made by running their block with sh on this
 * machine, as the how-to says (the passwords never reach the host).
 */
export function makeValues(steps: Step[], known: (secret: string) => string | undefined): Map<string, string> {
  const values = new Map<string, string>();
  for (const s of steps) {
    if (s.kind !== "make") continue;
    const given = s.secret ? known(s.secret) : undefined;
    if (given !== undefined) {
      values.set(s.placeholder, given.replace(/\n$/, ""));
      continue;
    }
    const script = fill(s.script, values);
    const missing = unfilled(script.split("\n").slice(1).join("\n"));
    if (missing.length) throw new Error(`${s.placeholder} is made from ${missing.join(", ")}, which no earlier block made`);
    const r = spawnSync("sh", ["-eu"], { input: script, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`making ${s.placeholder} failed: ${r.stderr}`);
    values.set(s.placeholder, r.stdout.replace(/\n$/, ""));
  }
  return values;
}

/** How many files the steps write (one heredoc each). */
export const filesWritten = (steps: Step[]): number => steps.filter((s) => s.kind === "run").reduce((n, s) => n + (s.script.match(/^cat > \S+ <<'PODKIT_EOF'$/gm)?.length ?? 0), 0);

/** How many commands the steps hold: lines that are not comments, heredoc bodies or blank. */
export function commandCount(steps: Step[]): number {
  let n = 0;
  for (const s of steps) {
    let inHeredoc: string | undefined;
    for (const line of s.script.split("\n")) {
      if (inHeredoc) { if (line === inHeredoc) inHeredoc = undefined; continue; }
      const h = /<<'([A-Z_]+)'$/.exec(line);
      if (h) inHeredoc = h[1];
      if (line.trim() && !line.trim().startsWith("#")) n++;
    }
  }
  return n;
}
