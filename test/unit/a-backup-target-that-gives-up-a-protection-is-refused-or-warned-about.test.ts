// A backup target over plain http (the pod's login and the repository's
// traffic readable on the way) is refused at its line; an SFTP target, whose
// login can delete what it wrote, is allowed with a warning that says what
// that means and what to use instead.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadStackFile, parseStack } from "../../lib/stack/load";
import { formatWarning, stackWarnings } from "../../lib/stack/warnings";

const ROOT = join(__dirname, "..", "..");

test("an http: backup URL is refused at file:line:column", () => {
  const text = readFileSync(join(ROOT, "stacks", "lab-a.yaml"), "utf8");
  const edited = text.replace("url: https://backup.lab.test:8000/lab-a", "url: http://backup.lab.test:8000/lab-a");
  assert.notEqual(edited, text);
  const r = parseStack(edited, "lab-a.yaml");
  assert.equal(r.ok, false);
  const lines = edited.split("\n");
  const line = lines.findIndex((l) => l.includes("url: http://backup")) + 1;
  const column = lines[line - 1].indexOf("http://") + 1;
  const problem = !r.ok && r.problems.find((p) => p.field === "backup.target.rest.url");
  assert.ok(problem, `a problem at backup.target.rest.url: ${JSON.stringify(!r.ok && r.problems)}`);
  assert.deepEqual([problem.line, problem.column], [line, column]);
  assert.match(problem.message, /https/);
});

test("an SFTP target is warned about at its line, saying a broken-into pod can delete its backups and what to use instead", () => {
  const loaded = loadStackFile(join(ROOT, "stacks", "hetzner.yaml"));
  assert.ok(loaded.ok);
  const [w, ...more] = stackWarnings(loaded.stack, loaded.source);
  assert.equal(more.length, 0);
  assert.equal(w.field, "backup.target.sftp");
  const line = readFileSync(join(ROOT, "stacks", "hetzner.yaml"), "utf8").split("\n").findIndex((l) => /^\s+sftp:/.test(l)) + 1;
  assert.equal(w.line, line);
  assert.match(w.message, /delete/);
  assert.match(w.message, /append-only/);
  const lab = loadStackFile(join(ROOT, "stacks", "lab-a.yaml"));
  assert.ok(lab.ok);
  assert.deepEqual(stackWarnings(lab.stack, lab.source), [], "a REST target with an append-only login: nothing to warn about");

  const out = execFileSync(process.execPath, [join(ROOT, "bin", "podkit.js"), "validate", "stacks/hetzner.yaml"], { cwd: ROOT, encoding: "utf8" });
  assert.ok(out.includes(formatWarning({ ...w, file: "stacks/hetzner.yaml" })), out);
});
