// Reads a stack file and validates it completely before anything else happens:
// YAML syntax, the schema (types, unknown keys, defaults) and the rules between
// fields. Nothing here touches the network.
import { readFileSync } from "node:fs";
import { LineCounter, parseDocument } from "yaml";
import { crossChecks } from "./checks";
import { issueToProblems } from "./issues";
import { SourceMap, type Problem } from "./problems";
import { stackSchema, type Stack } from "./schema";
import { printable, textProblems } from "./text";

export type LoadResult =
  /** `source` lets later stages (secrets, lab lookups) point at the line too. */
  | { ok: true; file: string; stack: Stack; source: SourceMap }
  | { ok: false; file: string; problems: Problem[] };

export function loadStackFile(file: string): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    return { ok: false, file, problems: [{ file, line: 1, column: 1, field: "(file)", message: reason }] };
  }
  return parseStack(text, file);
}

/**
 * Whatever the text, a result: a stack or located problems. A failure inside the
 * YAML parser (a bug there, an input it cannot handle) becomes a problem at the
 * top of the file, never a JavaScript stack trace.
 */
export function parseStack(text: string, file: string): LoadResult {
  try {
    return parseStackText(text, file);
  } catch (err) {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return { ok: false, file, problems: [{ file, line: 1, column: 1, field: "(yaml)", message: `this file cannot be read as a stack: ${message}` }] };
  }
}

/** Aliases a stack file may expand: a few are handy, thousands are a memory bomb ("billion laughs"). */
const MAX_ALIAS_COUNT = 100;

function parseStackText(text: string, file: string): LoadResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const source = new SourceMap(file, doc, lineCounter);

  if (doc.errors.length) {
    return {
      ok: false, file,
      problems: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        const message = e.code === "DUPLICATE_KEY" ? "this key appears twice in the same mapping" : e.message.split(" at line")[0];
        return { file, line, column: col, field: "(yaml)", message: printable(message.split("\n")[0]) };
      }),
    };
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    return { ok: false, file, problems: [source.problem([], `at most ${MAX_ALIAS_COUNT} alias expansions (*name): ${(err as Error).message.split("\n")[0]}`)] };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, file, problems: [source.problem([], "a stack file is a mapping with pod, domains, hosts, dns, ... (see schema/stack.schema.json)")] };
  }

  const problems: Problem[] = textProblems(raw).map((p) => source.problem(p.path, p.message, p.at));
  const parsed = stackSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueToProblems(issue, raw, stackSchema, source));
  }
  for (const p of crossChecks(raw)) problems.push(source.problem(p.path, p.message, p.at));

  if (problems.length || !parsed.success) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    // Messages quote values from the file: whatever they hold, a problem prints as one plain line.
    return { ok: false, file, problems: dedupe(problems).map((p) => ({ ...p, field: printable(p.field), message: printable(p.message) })) };
  }
  return { ok: true, file, stack: parsed.data, source };
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.line}:${p.column}:${p.field}:${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}
