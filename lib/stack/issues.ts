// Turns zod's issues into problems a volunteer can act on: the value that was
// found, what was expected, and for a mistyped key the key that was meant.
import type { z } from "zod";
import { formatPath, type Path, type Problem, type SourceMap } from "./problems";

type Issue = z.core.$ZodIssue;

export function issueToProblems(issue: Issue, root: unknown, schema: z.ZodType, source: SourceMap): Problem[] {
  const path = issue.path as Path;
  const found = valueAt(root, path);
  switch (issue.code) {
    case "unrecognized_keys":
      return issue.keys.map((key) => {
        const allowed = keysAt(schema, path);
        const guess = closest(key, allowed);
        const hint = guess ? `did you mean "${guess}"?` : allowed.length ? `allowed here: ${allowed.join(", ")}` : "";
        return source.problem([...path, key], `unknown key "${key}"${hint ? `; ${hint}` : ""}`, "key");
      });
    case "invalid_type":
      if (found === undefined) {
        const parent = path.slice(0, -1);
        return [source.problem(path.length ? parent : path,
          `missing required field "${formatPath(path.slice(-1))}" (${describeExpected(issue.expected)})`, "key")];
      }
      if (issue.expected === "object" && typeof found === "string" && isSecretField(path)) {
        return [source.problem(path, `secrets are never written in the stack file: write \`${String(path.at(-1))}: { secret: <name> }\` ` +
          "and set the value with `pulumi config set --secret podkit:<name>` or in the stack's secrets file")];
      }
      return [source.problem(path, `expected ${describeExpected(issue.expected)}, got ${describeValue(found)}`)];
    case "invalid_value": {
      const values = issue.values.map((v) => JSON.stringify(v));
      const guess = typeof found === "string" ? closest(found, issue.values.map(String)) : undefined;
      return [source.problem(path, `expected one of ${values.join(", ")}, got ${describeValue(found)}${guess ? `; did you mean "${guess}"?` : ""}`)];
    }
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
      const dir = issue.code === "too_small" ? "at least" : "at most";
      const what = issue.origin === "array" ? `${bound} item${Number(bound) === 1 ? "" : "s"}`
        : issue.origin === "string" ? `${bound} character${Number(bound) === 1 ? "" : "s"}` : String(bound);
      return [source.problem(path, `expected ${dir} ${what}, got ${describeValue(found)}`)];
    }
    case "invalid_format":
    case "custom":
      // Our own messages read as the thing expected: 'a mail address (e.g. ...)'.
      return [source.problem(path, `expected ${issue.message}, got ${describeValue(found)}`)];
    case "invalid_key":
      return [source.problem(path, `key ${describeValue(path.at(-1))} is not ${issue.issues[0]?.message ?? "valid"}`, "key")];
    case "invalid_union": {
      // The one alternative the value has the shape of (its issues all lie inside the value): its own problems.
      const inside = issue.errors.filter((alt) => alt.length > 0 && alt.every((i) => i.path.length > 0));
      if (inside.length === 1) return inside[0].flatMap((i) => issueToProblems({ ...i, path: [...path, ...i.path] } as Issue, root, schema, source));
      // Else what each alternative expected of the value itself: "expected false or a mapping".
      const expected = issue.errors.map((alt) => alt.find((i) => i.path.length === 0)).map((i) =>
        i?.code === "invalid_value" ? i.values.map((v) => JSON.stringify(v)).join(" or ") : i?.code === "invalid_type" ? describeExpected(i.expected) : undefined);
      if (expected.every((e) => e !== undefined)) return [source.problem(path, `expected ${expected.join(" or ")}, got ${describeValue(found)}`)];
      return [source.problem(path, issue.message)];
    }
    case "invalid_element":
    case "not_multiple_of":
    default:
      return [source.problem(path, issue.message)];
  }
}

const isSecretField = (path: Path) => ["password", "passphrase"].includes(String(path.at(-1)));

function describeExpected(expected: string): string {
  const words: Record<string, string> = {
    string: "a text value", number: "a number", boolean: "true or false", object: "a mapping (key: value lines)",
    array: "a list", int: "a whole number",
  };
  return words[expected] ?? expected;
}

/** What JSON.stringify leaves as it is but a terminal shows as something else, or as nothing. */
const INVISIBLE_RE = /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function describeValue(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "an empty value";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  // JSON escapes C0 controls; C1 and bidirectional controls are escaped too, so a message reads as what it says.
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v).replace(INVISIBLE_RE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return `${typeof v} ${String(v)}`;
}

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const seg of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

/** The keys a mapping at `path` may have, read from the schema itself. */
function keysAt(schema: z.ZodType, path: Path): string[] {
  let s: unknown = schema;
  for (const seg of [...path, null]) {
    s = unwrap(s);
    if (seg === null) break;
    const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) return [];
    if (def.type === "object") s = (def.shape as Record<string, unknown>)[seg];
    else if (def.type === "record") s = def.valueType;
    else if (def.type === "array") s = def.element;
    else return [];
  }
  const def = (s as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
  return def?.type === "object" ? Object.keys(def.shape as object) : [];
}

function unwrap(s: unknown): unknown {
  for (;;) {
    const def = (s as { _zod?: { def?: Record<string, unknown> } })?._zod?.def;
    if (def && ["optional", "default", "prefault", "nullable", "pipe"].includes(def.type as string)) {
      s = def.type === "pipe" ? def.in : def.innerType;
    } else return s;
  }
}

/** The nearest candidate by edit distance, if it is near enough to be a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}
