// A repository altered on the target is reported by the
// pod's check as failed, not as success; the postmaster (alice, through the
// postmaster alias) gets the failure mail over IMAPS; the status file keeps the
// time of the last check that succeeded. The repository is put back afterwards.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BACKUP_TARGET } from "../../lib/lab/backup-target";
import { must } from "./backups";
import { onHost, podkit } from "./helpers";
import { fetchBySubject } from "./mailclients";
import { ensurePods, type Pods } from "./pods";

let pods: Pods;
const repo = `${BACKUP_TARGET.dataDir}/lab-a`;
before(async () => {
  pods = await ensurePods(["a"]);
  await must("backup", "stacks/lab-a.yaml");
  await must("backup", "stacks/lab-a.yaml", "--check");
  // Keep an intact copy: the repository is restored after the test.
  const r = await onHost(pods.lab, BACKUP_TARGET.host, `rm -rf ${repo}.intact && cp -a ${repo} ${repo}.intact`);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await onHost(pods.lab, BACKUP_TARGET.host, `[ -d ${repo}.intact ] && rm -rf ${repo} && mv ${repo}.intact ${repo}`);
});

test("pack files altered on the target make the check fail, the postmaster gets the failure mail, the last-success time stays", async (t) => {
  const before = JSON.parse((await onHost(pods.lab, "a", "cat /var/lib/podkit/backup/last-check.json")).stdout);
  // One byte in the middle of every pack file, size unchanged: what bit rot or a tampering provider does.
  const damage = await onHost(pods.lab, BACKUP_TARGET.host, [
    `n=0; for f in $(find ${repo}/data -type f); do`,
    `  s=$(stat -c %s "$f"); o=$((s / 2)); b=$(dd if="$f" bs=1 skip=$o count=1 2>/dev/null | od -An -tu1 | tr -d ' ')`,
    `  printf "$(printf '\\\\%03o' $(( (b + 1) % 256 )))" | dd of="$f" bs=1 seek=$o conv=notrunc 2>/dev/null; n=$((n + 1))`,
    "done; echo $n",
  ].join("\n"));
  t.diagnostic(`altered ${damage.stdout.trim()} pack file(s) on the target`);
  assert.ok(Number(damage.stdout.trim()) > 0, "there were pack files to alter");

  const started = new Date(Date.now() - 2000).toISOString().replace(/\.\d+Z$/, "Z");
  const check = await podkit("backup", "stacks/lab-a.yaml", "--check");
  const out = check.stdout + check.stderr;
  assert.equal(check.code, 1, `the check must fail:\n${out}`);
  assert.match(out, /Fatal: repository contains errors/);
  assert.match(out, /check FAILED/);

  const mail = (await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), "podkit-backup-check.service failed", 60_000)).toString();
  assert.match(mail, /^To: postmaster@a\.test/m);
  const at = mail.match(/failed on mx\.a\.test at (\S+)\./)?.[1] ?? "";
  assert.ok(at >= started, `the mail is about this check (${at}), not an earlier one (before ${started})`);
  assert.match(mail, /ciphertext verification failed|repository contains errors/, "the mail carries the failed run's log");
  assert.match(mail, /Last successful check: +\{"time": "/);

  const afterCheck = JSON.parse((await onHost(pods.lab, "a", "cat /var/lib/podkit/backup/last-check.json")).stdout);
  assert.equal(afterCheck.time, before.time, "a failed check does not move the last-success time");
});
