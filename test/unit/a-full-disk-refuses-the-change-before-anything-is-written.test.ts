// A full disk stops a change before staging (lib/converge/disk-space.ts): what
// a change writes is added up per filesystem, and a short one is named with
// the space it needs. The check runs here on a temporary directory.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { FileChange } from "../../lib/converge/changes";
import { bytesByDir, describeSpaceShort, parseSpaceShort, SPACE_EXIT, spaceCheckLines } from "../../lib/converge/disk-space";
import { commitScript } from "../../lib/converge/scripts";

const change = (path: string, content: string): FileChange => ({ file: { path, content }, reason: "content" } as FileChange);

test("a change writes each file beside its destination and again in the staging dir", () => {
  const by = bytesByDir([change("/etc/postfix/main.cf", "x".repeat(1000)), change("/etc/postfix/master.cf", "é"), change("/etc/dovecot/users", "abc")], "/var/lib/podkit/stage/mail");
  assert.deepEqual(Object.fromEntries(by), { "/etc/postfix": 1002, "/etc/dovecot": 3, "/var/lib/podkit/stage/mail": 1005 });
});

test("the commit script checks the space before it stages anything, and only when files are written", () => {
  const s = commitScript("mail", [change("/etc/postfix/main.cf", "a = 1\n")], [], [{ name: "postfix check", reads: ["/etc/postfix"], run: "postfix check" }]);
  assert.equal(spawnSync("bash", ["-n"], { input: s }).status, 0, "valid bash");
  assert.ok(s.indexOf("space_writes |") < s.indexOf('rm -rf "$S"'), "before the staging root is made");
  assert.match(s, /du -sb '\/etc\/postfix' \| cut -f1\) \/var\/lib\/podkit\/stage\/mail/, "the checker's reads are copied into the staging root");
  assert.match(s, /du -sb '\/etc\/postfix\/main\.cf' \| cut -f1\) \/var\/lib\/podkit\/rollback\/mail/, "the replaced file is copied for the rollback");
  assert.doesNotMatch(commitScript("mail", [], [{ path: "/var/mail", mode: 0o2775 }], []), /space_writes/);
});

function runCheck(margin: number): { code: number; out: string; root: string } {
  const root = mkdtempSync(join(tmpdir(), "podkit-space-"));
  writeFileSync(join(root, "old.conf"), "old\n");
  const lines = spaceCheckLines([change(`${root}/old.conf`, "new\n"), change(`${root}/not/yet/here.conf`, "x".repeat(4096))],
    { stage: `${root}/state/stage/r`, rollback: `${root}/state/rollback/r`, reads: [root], margin });
  const r = spawnSync("bash", ["-s"], { input: ["set -eu", ...lines, "echo staged"].join("\n"), encoding: "utf8" });
  return { code: r.status ?? 1, out: r.stdout + r.stderr, root };
}

test("a filesystem with room lets the change through", () => {
  const r = runCheck(0);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, "staged\n");
});

test("a filesystem without room is named, with what it needs and has, and nothing goes further", () => {
  const r = runCheck(1e15);
  assert.equal(r.code, SPACE_EXIT, r.out);
  const [short, ...more] = parseSpaceShort(r.out);
  assert.equal(more.length, 0, "one filesystem holds the whole temporary dir");
  const df = spawnSync("df", ["-P", r.root], { encoding: "utf8" }).stdout.trim().split("\n")[1].split(/\s+/)[5];
  assert.equal(short.mount, df);
  assert.ok(short.need > 1e15 && short.avail < 1e15);
  assert.doesNotMatch(r.out, /staged/);
  assert.match(describeSpaceShort([{ mount: "/var", need: 20 * 1048576, avail: 3 * 1048576 }]),
    /^not enough free space on \/var: this change needs 20\.0 MiB free there \(4\.0 MiB of staged, new and rollback copies, and 16\.0 MiB kept free\), it has 3\.0 MiB; nothing was changed\./);
});
