// Every string field of a valid stack, given each of a corpus of hostile
// values: the loader refuses it with file:line:column, or every role renders
// it as data — no control or bidi character reaches any rendered file, and
// where a shell reads a file or command the value sits only inside single
// quotes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseDocument } from "yaml";
import { roleContext } from "../../lib/converge/pod";
import { registeredRoles } from "../../lib/converge/registry";
import type { RoleState } from "../../lib/converge/types";
import { parseStack } from "../../lib/stack/load";
import type { Stack } from "../../lib/stack/schema";
import { profileOf } from "./host-profiles";

const X = "/tmp/podkit-hostile-ran";
export const HOSTILE: string[] = [
  '"', "'", "a'b", `$(touch ${X})`, `\`touch ${X}\``, "${IFS}", `a;touch ${X}`, `a|touch ${X}`, `a&&touch ${X}`,
  "a\nb", "a\r\nb", "a\rb", "a\u0000b", "a\tb", "\u001b[31mred", "a\u007fb", "a\u0085b", "a\u2028b",
  "\u202egnp.exe", "a\u2066b\u2069", "a\u200fb", "ex\u0430mple.org", "\uff45xample.org", "a\u200bb",
  "../../etc/passwd", "/etc/shadow", "..", "x".repeat(5000), "a".repeat(300), `-oProxyCommand=touch ${X}`, "--help",
  "]\n[evil]", "= evil", "%s%n", "\\", "\\\n", "<script>", "{{fqdn}}", `"; os.execute("touch ${X}") --`,
  `]] os.execute("touch ${X}") --[[`, `https://evil.example/"$(touch ${X})"`, "http://evil.example/", "user@evil.example:22",
  "*", "~root", "#comment", "a b", "$HOME", "\u{1f600}", "",
];

const CONTROL_OR_BIDI = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200e\u200f]/;
const SHELL_META = /[$`;|&'"\\<>*~#\s(){}]/;
const SOURCED = new Set(["/etc/podkit/tls/request", "/etc/podkit/backup/repository"]);

/** Every string leaf of the parsed YAML, by path. */
function stringLeaves(v: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof v === "string") return [path];
  if (Array.isArray(v)) return v.flatMap((x, i) => stringLeaves(x, [...path, i]));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => stringLeaves(x, [...path, k]));
  return [];
}

function renderAll(stack: Stack): RoleState[] {
  const out: RoleState[] = [];
  for (const host of Object.keys(stack.hosts)) {
    const profile = profileOf(stack, host);
    const ctx = roleContext(stack, host, (n) => `secret-${n}`, profile);
    for (const role of registeredRoles()) if (role.appliesTo(stack, host)) out.push(role.state(ctx));
  }
  return out;
}

/** A shell line holds the value only inside single-quoted words. */
function outsideSingleQuotes(line: string, value: string): boolean {
  if (!line.includes(value)) return false;
  if (value.includes("'")) return true; // shellQuote rewrites a quote; the value as written may not appear
  return line.replace(/'[^']*'/g, "''").includes(value);
}

/** Every line a shell reads: scripts, sourced files, handler and check commands. */
function shellLines(s: RoleState): { at: string; text: string }[] {
  return [
    ...s.files.filter((f) => SOURCED.has(f.path) || (f.mode ?? 0) & 0o111 || f.content.startsWith("#!")).map((f) => ({ at: f.path, text: f.content })),
    ...(s.handlers ?? []).flatMap((h) => [{ at: `handler ${h.name}`, text: h.run }, { at: `handler ${h.name} unless`, text: h.unless ?? "" }]),
    ...(s.checks ?? []).map((c) => ({ at: `check ${c.name}`, text: c.run })),
  ].flatMap(({ at, text }) => text.split("\n").map((line) => ({ at, text: line })));
}

/** Only lines the value changed are its doing: "a b" may be in a comment of the template anyway. */
function assertInert(states: RoleState[], value: string, where: string, baseline: Set<string>) {
  for (const s of states) {
    // CRLF is the line end of some files (the MTA-STS policy); a lone CR is not.
    for (const f of s.files) assert.doesNotMatch(f.content.replace(/\r\n/g, "\n"), CONTROL_OR_BIDI, `${where}: ${s.role} ${f.path} holds no control or bidi character`);
    if (value.length < 2 || !SHELL_META.test(value)) continue;
    for (const { at, text: line } of shellLines(s)) {
      if (baseline.has(line)) continue;
      assert.ok(!outsideSingleQuotes(line, value), `${where}: ${s.role} ${at} has ${JSON.stringify(value)} outside single quotes: ${line}`);
    }
  }
}

test("every hostile value in every string field is refused with file:line:column or rendered inertly by every role", () => {
  assert.ok(HOSTILE.length >= 40);
  let refused = 0, inert = 0;
  // hetzner: SFTP backup, relay, groups; lab-a: a REST backup with prune login and an ACME directory.
  for (const example of ["stacks/hetzner.yaml", "stacks/lab-a.yaml"]) {
    const base = parseDocument(readFileSync(example, "utf8"));
    // A free-form string field the examples leave out: a main.cf value.
    base.setIn(["mail", "postfix", "smtpd_banner"], "$myhostname ESMTP");
    const leaves = stringLeaves(base.toJS());
    const valid = parseStack(base.toString(), "base.yaml");
    assert.ok(valid.ok, `${example} with a banner is valid`);
    const baseline = new Set(renderAll(valid.stack).flatMap(shellLines).map((l) => l.text));
    for (const path of leaves) {
      for (const value of HOSTILE) {
        const doc = base.clone();
        doc.setIn(path, value);
        const where = `${example} ${path.join(".")} = ${JSON.stringify(value.slice(0, 40))}`;
        const loaded = parseStack(doc.toString(), "hostile.yaml");
        if (!loaded.ok) {
          for (const p of loaded.problems) {
            assert.ok(p.file === "hostile.yaml" && p.line >= 1 && p.column >= 1, `${where}: located`);
            assert.doesNotMatch(p.message, CONTROL_OR_BIDI, `${where}: the message is one plain line`);
            assert.doesNotMatch(p.message, /\n/, `${where}: the message is one line`);
          }
          refused++;
          continue;
        }
        let states: RoleState[];
        try {
          states = renderAll(loaded.stack);
        } catch (err) {
          // A role may refuse what the schema let through, but only naming the field, never by crashing.
          assert.match((err as Error).message, /expected/, `${where}: ${(err as Error).message}`);
          refused++;
          continue;
        }
        assertInert(states, value, where, baseline);
        inert++;
      }
    }
  }
  console.log(`hostile corpus: ${HOSTILE.length} values over every string field of 2 example stacks: ${refused + inert} cases, ${refused} refused with a location, ${inert} rendered inertly`);
});
