// What leaves the pod is encrypted (a body planted
// before the backup is nowhere in plain text on the target), and the pod's own
// login can add snapshots but not delete one; the login that may delete is not
// on the pod at all.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { BACKUP_TARGET } from "../../lib/lab/backup-target";
import { SecretStore } from "../../lib/stack/secrets";
import { must, podRestic } from "./backups";
import { onHost, REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";

let pods: Pods;
before(async () => {
  pods = await ensurePods(["a"]);
});

test("a message body planted before the backup is nowhere in plain text on the backup target", async () => {
  const canary = token("plaintext-canary");
  const subject = token("canary-mail");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "carol@a.test", subject, text: `The secret word is ${canary}.` });
  await fetchBySubject(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), subject);

  await must("backup", "stacks/lab-a.yaml");
  // Control: the body was in what the backup read, in plain text.
  const staged = await onHost(pods.lab, "a", `grep -rl ${canary} /var/backups/podkit/mail`);
  assert.equal(staged.code, 0, "the canary is in the staged copy the backup read");
  // The target holds the repository; neither the body nor a filename gives it away.
  const onTarget = await onHost(pods.lab, BACKUP_TARGET.host, `grep -ra ${canary} ${BACKUP_TARGET.dataDir}; echo "grep exit $?"`);
  assert.match(onTarget.stdout, /grep exit 1$/, `the canary must not be found on the target:\n${onTarget.stdout.slice(0, 500)}`);
  const names = await onHost(pods.lab, BACKUP_TARGET.host, `find ${BACKUP_TARGET.dataDir} | grep -c -e carol -e Maildir -e prosody || true`);
  assert.equal(names.stdout.trim(), "0", "no file name on the target names an account or a path of the pod");
});

test("with its append-only login the pod cannot forget a snapshot: restic forget fails and the snapshot is still listed", async () => {
  // Two snapshots at least, so that `forget --keep-last 1` has something to delete.
  await must("backup", "stacks/lab-a.yaml");
  const list = await podRestic(pods, "snapshots --json");
  const snapshots = JSON.parse(list.stdout) as { short_id: string }[];
  assert.ok(snapshots.length > 1, "there are snapshots to try");
  const victim = snapshots[0].short_id;
  const forget = await podRestic(pods, `forget ${victim}`);
  // restic 0.14 (Debian 12) exits non-zero; 0.18 (Debian 13) reports the refused removal and exits 0.
  const refused = (r: { code: number; stdout: string; stderr: string }) => r.code !== 0 || /unable to remove|403 Forbidden/.test(r.stdout + r.stderr);
  assert.ok(refused(forget), `restic forget from the pod must be refused:\n${forget.code}\n${forget.stdout}\n${forget.stderr}`);
  const prune = await podRestic(pods, `forget --keep-last 1 --prune`);
  assert.ok(refused(prune), `forget --prune from the pod must be refused too:\n${prune.stdout}\n${prune.stderr}`);
  const after = JSON.parse((await podRestic(pods, "snapshots --json")).stdout) as { short_id: string }[];
  assert.ok(after.some((s) => s.short_id === victim), `snapshot ${victim} is still listed`);
  assert.equal(after.length, snapshots.length, "no snapshot was removed");
});

test("the prune login is not on the pod, and from the admin machine it can apply the retention", async () => {
  const secrets = new SecretStore(`${REPO}/stacks/lab-a.secrets.yaml`);
  const prunePassword = secrets.get("backup-prune-password")!;
  const found = await onHost(pods.lab, "a", `grep -rlF -e ${JSON.stringify(prunePassword)} -e lab-a-prune /etc /var/lib/podkit /usr/local 2>/dev/null; true`);
  assert.equal(found.stdout.trim(), "", "no file on the pod holds the prune login");
  const pruned = await must("backup", "stacks/lab-a.yaml", "--prune");
  assert.match(pruned.stdout + pruned.stderr, /Applying Policy: keep 7 daily, 4 weekly, 6 monthly/);
});
