// Whatever a stack file holds — random bytes, a mangled example, aliases that
// expand without end, tags, deep nesting — the loader answers with a stack or a
// list of located one-line problems (what `podkit validate` prints before exit
// 65), never a thrown error, and quickly.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { parseStack, type LoadResult } from "../../lib/stack/load";

const EXAMPLES = ["stacks/hetzner.yaml", "stacks/lab-a.yaml", "stacks/lab-b.yaml", "stacks/hackspace.yaml"].map((f) => readFileSync(f, "utf8"));
const PER_DOCUMENT_MS = 1000;

/** Loads `text`, asserting it ends in a stack or located problems within the time bound. */
function loadsCleanly(text: string): LoadResult {
  const started = performance.now();
  let r: LoadResult;
  try {
    r = parseStack(text, "fuzz.yaml");
  } catch (err) {
    assert.fail(`the loader threw ${(err as Error).stack} for ${JSON.stringify(text.slice(0, 200))}`);
  }
  const ms = performance.now() - started;
  assert.ok(ms < PER_DOCUMENT_MS, `${ms.toFixed(0)} ms for ${JSON.stringify(text.slice(0, 200))}`);
  if (!r.ok) {
    assert.ok(r.problems.length > 0, "a refusal says why");
    for (const p of r.problems) {
      assert.equal(p.file, "fuzz.yaml");
      assert.ok(Number.isInteger(p.line) && p.line >= 1 && Number.isInteger(p.column) && p.column >= 1, `located: ${JSON.stringify(p)}`);
      assert.ok(p.message.length > 0 && !/[\n\r]/.test(p.message) && !/\n/.test(p.field), `one line: ${JSON.stringify(p)}`);
      assert.doesNotMatch(p.message, /^\s*at .*\(.*:\d+:\d+\)/m, "no stack trace");
    }
  }
  return r;
}

/** Pieces that stress a YAML parser: anchors, aliases, tags, flow nesting, directives, odd scalars. */
const YAML_BITS = [
  "&a ", "*a", "<<: *a\n", "!!js/function 'x'", "!!binary AAAA", "!!python/object:os.system", "!custom ", "%YAML 1.1\n---\n",
  "---\n", "...\n", "[[[[[[", "]]]]", "{{{{", "}}}", "? ", ": ", "- ", "|\n", ">-\n", "\"\\u0000\"", "'\n'", "\t", "\r\n",
  "\u0000", "\ufeff", "\u202e", "~", "null", "0x1F", ".inf", "1e400", "2001-12-14", "=", "#", "@", "`", "%", "!", "\\",
  "x".repeat(3000), "  ", "\n", ":\n  :\n    :", "a: &x [*x]", "pod: &p x\nhosts: *p\n",
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bit: fc.constantFrom(...YAML_BITS) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), char: fc.string({ unit: "binary", minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant("duplicate-line" as const), at: fc.nat() }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(text: string, m: Mutation): string {
  const at = text.length ? m.at % text.length : 0;
  switch (m.kind) {
    case "insert": return text.slice(0, at) + m.bit + text.slice(at);
    case "delete": return text.slice(0, at) + text.slice(at + m.length);
    case "replace": return text.slice(0, at) + m.char + text.slice(at + m.char.length);
    case "duplicate-line": {
      const lines = text.split("\n");
      const i = m.at % lines.length;
      return [...lines.slice(0, i + 1), lines[i], ...lines.slice(i + 1)].join("\n");
    }
  }
}

test("mutated example stacks load as a stack or as located one-line problems, each in under a second", () => {
  fc.assert(
    fc.property(fc.constantFrom(...EXAMPLES), fc.array(mutation, { minLength: 1, maxLength: 8 }), (example, ms) => {
      loadsCleanly(ms.reduce(mutate, example));
    }),
    { numRuns: 1500 },
  );
});

test("random text and random YAML values load as a stack or as located one-line problems", () => {
  fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => { loadsCleanly(text); }), { numRuns: 1000 });
  fc.assert(fc.property(fc.array(fc.constantFrom(...YAML_BITS), { maxLength: 30 }), (bits) => { loadsCleanly(bits.join("")); }), { numRuns: 1000 });
  fc.assert(
    fc.property(fc.anything({ maxDepth: 4, withNullPrototype: true, withBigInt: true, withDate: true, withMap: true, withSet: true }), (value) => {
      let text: string | undefined;
      try {
        text = stringify(value);
      } catch {
        text = undefined;
      }
      // Not every JavaScript value has a YAML form: the generator's problem, not the loader's.
      if (typeof text === "string") loadsCleanly(text);
    }),
    { numRuns: 500 },
  );
});

test("aliases that would expand without end (a billion laughs) are refused quickly, with a location", () => {
  const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 10; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10).fill(`*${String.fromCharCode(96 + i)}`).join(", ")}]`);
  const r = loadsCleanly(`${levels.join("\n")}\n`);
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.problems[0].message : "", /alias/);
});

test("a deeply nested document is refused with a location, not a stack overflow", () => {
  loadsCleanly(`pod: ${"[".repeat(5000)}${"]".repeat(5000)}\n`);
  loadsCleanly(`${Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i)}k${i}:`).join("\n")} x\n`);
});
