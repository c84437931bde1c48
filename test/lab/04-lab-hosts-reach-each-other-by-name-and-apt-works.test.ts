// Must show 4: a lab host reaches the other pod's host by name (lab name and pod name,
// through the lab resolver), and apt inside a host reaches the Debian mirror through the NAT.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { connectLabHost } from "../../lib/lab/ssh";
import type { LabState } from "../../lib/lab/state";
import { ensureLab, onHost } from "./helpers";

let state: LabState;
before(async () => {
  state = await ensureLab();
});

// Over the MX port: SSH is the admins' only (the lab stacks' admin.sshFrom is the outer machine),
// and before the pods exist nothing but sshd listens, so the check is by whichever answers.
const probe = (host: string) =>
  `exec 3<>/dev/tcp/${host}/25 2>/dev/null && head -c 3 <&3 || { exec 3<>/dev/tcp/${host}/22 && head -c 3 <&3; }`;

test("host a finds host b by its lab name and by its pod's name, and reaches b's MX (or sshd before the pod exists)", async () => {
  const b = state.hosts.b.address;
  const r = await onHost(state, "a", `getent hosts b.lab.test; getent hosts mx.b.test; ${probe("b.lab.test")}`);
  assert.equal(r.code, 0, r.stderr);
  const [lab, pod, banner] = r.stdout.trim().split("\n");
  assert.equal(lab.split(/\s+/)[0], b, `b.lab.test on a: ${lab}`);
  assert.equal(pod.split(/\s+/)[0], b, `mx.b.test on a: ${pod}`);
  assert.match(banner, /^(220|SSH)$/, "b's MX (or sshd) did not answer a");
});

test("host b reaches host a the other way round", async () => {
  const r = await onHost(state, "b", probe("mx.a.test"));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^(220|SSH)$/);
});

test("apt-get update succeeds inside a lab host", { timeout: 120_000 }, async (t) => {
  const started = Date.now();
  const r = await onHost(state, "backup", "apt-get update -q 2>&1");
  t.diagnostic(`apt-get update on backup took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout, /^(W|E): /m, "apt-get update printed warnings or errors");
});

test("a host rebooted from inside boots again, with the same pinned key", { timeout: 60_000 }, async (t) => {
  const before = (await onHost(state, "backup", "cat /proc/sys/kernel/random/boot_id")).stdout.trim();
  await onHost(state, "backup", "systemctl reboot");
  const started = Date.now();
  let after = before;
  while (after === before && Date.now() - started < 30_000) {
    await new Promise((r) => setTimeout(r, 300));
    try {
      const ssh = await connectLabHost(state, "backup");
      after = (await ssh.execCommand("cat /proc/sys/kernel/random/boot_id")).stdout.trim() || before;
      ssh.dispose();
    } catch {
      /* still rebooting */
    }
  }
  t.diagnostic(`backup rebooted and answered SSH again in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.notEqual(after, before, "backup did not come back from its reboot within 30 s");
});
