// The pod's daily check (roles/check, `podkit-check run`) mails the postmaster
// once when something breaks, not again while it stays broken, and once when
// it is fixed. The rendered script runs here, in a scratch directory: its four
// path lines point there, sendmail is a script that keeps each mail, and the
// break is the disk threshold (`--disk-fail 1`: every disk is "full").
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parsePodState } from "../../lib/check/pod-state";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { labProfileWithResolver } from "../../lib/lab/provider";
import { loadStackFile } from "../../lib/stack/load";
import { CHECK_PATHS } from "../../roles/check/role";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
assert.ok(loaded.ok);
const files = roleNamed("check").state(roleContext(loaded.stack, "mx", (n) => `value of ${n}`, labProfileWithResolver(undefined, "trixie"))).files;
const rendered = (path: string) => files.find((f) => f.path === path)!.content;

const dir = mkdtempSync(join(tmpdir(), "podkit-check-script-"));
const mails = join(dir, "mails");
const script = join(dir, "podkit-check");
// This machine is not a pod: no units to ask about, no backups; only its disk and the rest.
writeFileSync(join(dir, "check.conf"), rendered(CHECK_PATHS.conf).replace(/^UNITS=.*$/m, 'UNITS=""').replace(/^BACKUP=.*$/m, "BACKUP=0").replace(/^DISK_PATHS=.*$/m, `DISK_PATHS="${dir}"`));
writeFileSync(join(dir, "sendmail"), `#!/bin/sh\nmkdir -p ${mails}\ncat > ${mails}/$(date +%s%N)\n`);
chmodSync(join(dir, "sendmail"), 0o755);
const text = rendered(CHECK_PATHS.script)
  .replace(/^CONF=.*$/m, `CONF=${dir}/check.conf`).replace(/^STATE=.*$/m, `STATE=${dir}/state`)
  .replace(/^BACKUP_STATE=.*$/m, `BACKUP_STATE=${dir}/backup`).replace(/^SENDMAIL=.*$/m, `SENDMAIL=${dir}/sendmail`);
assert.equal(text.match(new RegExp(dir, "g"))?.length, 4, "the four path lines, and only they, were pointed at the scratch directory");
writeFileSync(script, text, { mode: 0o755 });

const runScript = (...args: string[]) => {
  const r = spawnSync("bash", [script, ...args], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
};
const sent = () => (existsSync(mails) ? readdirSync(mails).sort().map((f) => readFileSync(join(mails, f), "utf8")) : []);
const subject = (mail: string) => mail.match(/^Subject: (.*)$/m)![1];

test("the state lines the script prints are what podkit check reads: every line a result, the disk judged by the threshold given", () => {
  const ok = parsePodState(runScript("state"), "mx").results;
  assert.ok(ok.some((r) => r.id.startsWith("pod/disk/")));
  assert.ok(ok.every((r) => r.id !== "pod/unreadable"), JSON.stringify(ok));
  const full = parsePodState(runScript("state", "--disk-fail", "1"), "mx").results.filter((r) => r.id.startsWith("pod/disk/"));
  assert.ok(full.length && full.every((r) => r.status === "fail" && /du -xh/.test(r.fix!)), JSON.stringify(full));
});

test("the first result, taken at apply, tells no one however it looks; the timer's runs differ from it", () => {
  rmSync(join(dir, "state"), { recursive: true, force: true });
  const before = sent().length;
  runScript("baseline", "--disk-fail", "1");
  assert.equal(sent().length, before, "no mail from the baseline, a problem in it or not");
  assert.match(readFileSync(join(dir, "state", "last.tsv"), "utf8"), /^fail\tdisk\//m);
  runScript("run", "--disk-fail", "1");
  assert.equal(sent().length, before, "the same result from the timer: still no mail");
});

test("a change mails once, the same result again does not, and the fix mails once more", () => {
  runScript("run");
  const clean = !readFileSync(join(dir, "state", "last.tsv"), "utf8").split("\n").some((l) => /^(warn|fail)\t/.test(l));
  const base = sent().length;

  runScript("run", "--disk-fail", "1");
  assert.equal(sent().length, base + 1, "one mail when the disk is full");
  const broke = sent().at(-1)!;
  assert.match(subject(broke), /^\[podkit\] mx\.a\.test: \d+ problem\(s\)$/);
  assert.match(broke, /^To: postmaster@a\.test$/m);
  assert.match(broke, /^Auto-Submitted: auto-generated$/m);
  assert.match(broke, /^fail .*disk .*used\n     means: Postfix refuses new mail/m);

  runScript("run", "--disk-fail", "1");
  assert.equal(sent().length, base + 1, "no mail while it stays broken");

  runScript("run");
  assert.equal(sent().length, base + 2, "one mail when it is fixed");
  const fixed = sent().at(-1)!;
  if (clean) assert.equal(subject(fixed), "[podkit] mx.a.test: all checks ok again");
  assert.doesNotMatch(fixed, /^fail .*disk/m);
  assert.match(readFileSync(join(dir, "state", "last-run.json"), "utf8"), /^\{"time": "\d{4}-\d\d-\d\dT[\d:]+Z", "fails": \d+\}$/m);
});
