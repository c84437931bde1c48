// The pod's daily check (role check, podkit-check.timer) mails the postmaster
// only when its result changes: once when something breaks, not again while it
// stays broken, and once more when it is fixed (issue 14, must-show 3). The
// timer's service is started by hand, as the timer would; what breaks is the
// backup's last success, moved three days back (mail keeps flowing meanwhile).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { must } from "./backups";
import { onHost } from "./helpers";
import { imapClient } from "./mailclients";
import { ensurePods, type Pods } from "./pods";

let pods: Pods;
const SUBJECT = "[podkit] mx.a.test:";
const STATUS = "/var/lib/podkit/backup/last-backup.json";

before(async () => {
  pods = await ensurePods(["a"]);
  await must("backup", "stacks/lab-a.yaml");
  await must("backup", "stacks/lab-a.yaml", "--check");
});

after(async () => {
  await onHost(pods.lab, "a", `[ -f /root/daily-last-backup.json.kept ] && mv -f /root/daily-last-backup.json.kept ${STATUS}; systemctl start podkit-check.service; true`);
});

/** The daily run, as the timer starts it (a oneshot: returns when it is done). */
async function dailyRun(): Promise<void> {
  const r = await onHost(pods.lab, "a", "systemctl start podkit-check.service");
  assert.equal(r.code, 0, r.stderr);
}

/** Subjects of the check's mails in the postmaster's INBOX (alice has the postmaster alias). */
async function checkMails(): Promise<string[]> {
  const client = await imapClient(pods, pods.a, "alice@a.test", pods.a.password("alice-password"));
  try {
    const lock = await client.getMailboxLock("INBOX");
    try {
      const uids = (await client.search({ subject: SUBJECT }, { uid: true })) || [];
      const subjects: string[] = [];
      for (const uid of uids) {
        const msg = await client.fetchOne(String(uid), { envelope: true }, { uid: true });
        if (msg && msg.envelope?.subject) subjects.push(msg.envelope.subject);
      }
      return subjects;
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
}

/**
 * The check mails in the postmaster's INBOX once none to the postmaster is left in
 * the pod's queue: every mail the last run sent has been delivered by then (waits up to `ms`).
 */
async function settled(ms = 30_000): Promise<string[]> {
  const r = await onHost(pods.lab, "a", `for i in $(seq ${ms / 500}); do postqueue -j | grep -q 'postmaster@a\\.test' || exit 0; sleep 0.5; done; exit 1`);
  assert.equal(r.code, 0, "the mails to the postmaster leave the pod's queue");
  return checkMails();
}

test("the daily check mails the postmaster once when the backup goes stale, not on the next run, and once when it is fixed", async (t) => {
  // A healthy baseline: whatever the previous run said, this one is all ok.
  await dailyRun();
  const base = await settled();
  t.diagnostic(`${base.length} check mail(s) before`);

  const stale = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
  const moved = await onHost(pods.lab, "a", `cp -p ${STATUS} /root/daily-last-backup.json.kept && sed -i 's/"time": "[^"]*"/"time": "${stale}"/' ${STATUS}`);
  assert.equal(moved.code, 0, moved.stderr);

  await dailyRun();
  const broke = await settled();
  assert.equal(broke.length, base.length + 1, `one mail on the break: ${JSON.stringify(broke)}`);
  assert.match(broke.at(-1)!, /^\[podkit\] mx\.a\.test: 1 problem\(s\)$/);

  await dailyRun();
  const still = await settled();
  assert.equal(still.length, base.length + 1, "no second mail while it stays broken");

  await onHost(pods.lab, "a", `mv -f /root/daily-last-backup.json.kept ${STATUS}`);
  await dailyRun();
  const fixed = await settled();
  assert.equal(fixed.length, base.length + 2, `one mail on the fix: ${JSON.stringify(fixed)}`);
  assert.match(fixed.at(-1)!, /^\[podkit\] mx\.a\.test: all checks ok again$/);

  const last = await onHost(pods.lab, "a", "cat /var/lib/podkit/check/last.tsv; cat /var/lib/podkit/check/last-run.json");
  assert.match(last.stdout, /^ok\tbackup\t/m);
  assert.match(last.stdout, /"fails": 0/);
});
