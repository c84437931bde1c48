// The backup role as rendered from the example stacks: the pod gets its own
// (append-only) login and the passphrase, never the prune login; the script
// passes bash's syntax check; timers follow backup.schedule.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { profileOf } from "./host-profiles";
import { loadStackFile } from "../../lib/stack/load";
import type { Stack } from "../../lib/stack/schema";
import { backup, checkTime, repositoryUrl } from "../../roles/backup/role";

function stackOf(file: string, edit?: (s: Stack) => void): Stack {
  const loaded = loadStackFile(file);
  assert.ok(loaded.ok, `${file} is valid`);
  const stack = structuredClone(loaded.stack);
  edit?.(stack);
  return stack;
}

const secrets: Record<string, string> = {
  "backup-passphrase": "correct horse", "backup-rest-password": "p@ss'word/1", "backup-prune-password": "PRUNE-ONLY-SECRET",
};
const render = (stack: Stack) => backup.state(roleContext(stack, stack.backup!.host, (n) => secrets[n] ?? `value-of-${n}`, profileOf(stack, stack.backup!.host)));

test("the pod's repository carries its own login, URL-encoded; the prune login is in no file of the role", () => {
  const stack = stackOf("stacks/lab-a.yaml");
  const state = render(stack);
  const repo = state.files.find((f) => f.path === "/etc/podkit/backup/repository")!;
  assert.ok(repo.secret && repo.mode === 0o600);
  assert.match(repo.content, /RESTIC_REPOSITORY='rest:https:\/\/lab-a:p%40ss'\\''word%2F1@backup\.lab\.test:8000\/lab-a'/);
  for (const f of state.files) {
    assert.ok(!f.content.includes("PRUNE-ONLY-SECRET") && !f.content.includes("lab-a-prune"), `${f.path} holds no prune login`);
  }
  assert.equal(state.files.find((f) => f.path === "/etc/podkit/backup/passphrase")!.content, "correct horse\n");
});

test("the backup script is valid bash and mails the stack's postmaster", () => {
  const script = render(stackOf("stacks/lab-a.yaml")).files.find((f) => f.path === "/usr/local/sbin/podkit-backup")!.content;
  const r = spawnSync("bash", ["-n"], { input: script });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.match(script, /^\s*echo "To: postmaster@a\.test"$/m);
  assert.match(script, /--host mx\.a\.test/);
});

test("timers follow backup.schedule; the check runs two hours later, across midnight too", () => {
  const state = render(stackOf("stacks/lab-a.yaml", (s) => { s.backup!.schedule = "23:15"; }));
  assert.match(state.files.find((f) => f.path.endsWith("podkit-backup.timer"))!.content, /^OnCalendar=\*-\*-\* 23:15:00$/m);
  assert.match(state.files.find((f) => f.path.endsWith("podkit-backup-check.timer"))!.content, /^OnCalendar=\*-\*-\* 01:15:00$/m);
  assert.equal(checkTime("03:30"), "05:30");
});

test("an SFTP target (hetzner example) gets a generated key, a pinned host key and restic's sftp.command", () => {
  const stack = stackOf("stacks/hetzner.yaml");
  assert.equal(repositoryUrl(stack, () => ""), "sftp:u123456@u123456.your-storagebox.de:citymail");
  const state = render(stack);
  assert.ok(state.packages.includes("openssh-client"));
  assert.deepEqual(state.handlers!.map((h) => h.name), ["systemctl daemon-reload", "backup SSH key", "pin the SFTP host key"]);
  const script = state.files.find((f) => f.path === "/usr/local/sbin/podkit-backup")!.content;
  assert.match(script, /-o sftp\.command='ssh -p 23 -i \/etc\/podkit\/backup\/id_ed25519 -o UserKnownHostsFile=\/etc\/podkit\/backup\/known_hosts -o StrictHostKeyChecking=yes/);
});
