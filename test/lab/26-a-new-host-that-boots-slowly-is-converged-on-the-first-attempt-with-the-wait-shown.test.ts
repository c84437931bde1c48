// A server podkit just created answers SSH only after a while, and then is
// still in its first boot (cloud-init). `pulumi up` converges it on the first
// attempt anyway: the role waits for SSH with the pinned key, then for
// cloud-init to finish, and says what it waits for.
//
// What this proves, and what not: lab host b is recreated empty (a new machine
// at the same address), its sshd is stopped and started again ~25 s later, and a
// stand-in for `cloud-init` (a script answering `status` and `status --wait`
// as cloud-init does) reports "running" until a slow first-boot job finishes
// ~50 s later. The role provider's create (what `pulumi up` runs for each role,
// with a new server's bootWaitMs) is called against it once. This exercises the
// real provider code over real SSH against a host that refuses and then
// answers; it does not boot a Hetzner server or run the real cloud-init.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { publicKeyOfKeyFile } from "../../lib/ssh/login-key";
import { labProfile } from "../../lib/lab/provider";
import { readLabState, type LabState } from "../../lib/lab/state";
import { roleProvider, type RoleInputs } from "../../lib/pulumi/role-provider";
import { splitRoleState } from "../../lib/pulumi/role-resource";
import { connectPinned } from "../../lib/ssh/connect";
import { loadStackFile } from "../../lib/stack/load";
import { roleNamed } from "../../lib/converge/registry";
import { ensureLab, onHost, podkit, REPO } from "./helpers";
import { apply } from "./pods";

const HOST = "b";
const SSH_BACK_AFTER_S = 25;
const FIRST_BOOT_DONE_AFTER_S = 50;

/** Answers like cloud-init: "running" until the first-boot job is done; --wait blocks until then. */
const FAKE_CLOUD_INIT = `#!/bin/sh
# Stand-in for cloud-init in a podkit lab test: a first boot that takes a while.
booted() { test -e /run/podkit-first-boot.done; }
if [ "$1" = status ]; then
  if [ "$2" = --wait ]; then
    while ! booted; do printf .; sleep 1; done; echo; echo "status: done"; exit 0
  fi
  if booted; then echo "status: done"; else echo "status: running"; fi
  exit 0
fi
echo "cloud-init stand-in: only 'status' is supported" >&2; exit 1
`;

let lab: LabState;
before(async () => {
  await ensureLab();
  const recreated = await podkit("lab", "recreate", HOST);
  assert.equal(recreated.code, 0, recreated.stderr);
  lab = readLabState()!;
});

after(async () => {
  // Leave pod b as the other tests expect it: the stand-in gone, the pod applied.
  await onHost(readLabState()!, HOST, "rm -f /usr/local/bin/cloud-init; systemctl start ssh.service").catch(() => {});
  await apply(`stacks/lab-${HOST}.yaml`);
});

test("a fresh host that answers SSH late and is still in its first boot is converged on the first attempt, the waits shown", async (t) => {
  const h = lab.hosts[HOST];
  // The slow first boot: the stand-in, the job that ends it, sshd away for a while. (A timer
  // fires up to a minute late unless told its accuracy: these must fire when they say.)
  const at = (s: number, unit: string) => `systemd-run --quiet --on-active=${s} --timer-property=AccuracySec=100ms --unit=${unit}`;
  const setup = await onHost(lab, HOST, [
    `cat > /usr/local/bin/cloud-init <<'EOF'\n${FAKE_CLOUD_INIT}EOF`,
    "chmod 755 /usr/local/bin/cloud-init",
    "rm -f /run/podkit-first-boot.done",
    `${at(FIRST_BOOT_DONE_AFTER_S, "podkit-slow-first-boot")} touch /run/podkit-first-boot.done`,
    `${at(SSH_BACK_AFTER_S, "podkit-ssh-back")} systemctl start ssh.service`,
    `${at(2, "podkit-ssh-away")} systemctl stop ssh.service`,
  ].join("\n"));
  assert.equal(setup.code, 0, setup.stderr);
  // sshd goes away about 2 s from now: until it has, one attempt still gets in. Once it has,
  // one attempt fails, as a booting server's would (bounded: it must be gone well before it returns).
  const target = { name: HOST, address: h.address, port: 22, user: "root", hostKey: h.hostKey, privateKeyPath: h.sshPrivateKeyPath };
  let refused: Error | undefined;
  for (const until = Date.now() + 15_000; !refused && Date.now() < until;) {
    try {
      (await connectPinned(target)).dispose();
      await new Promise((r) => setTimeout(r, 250));
    } catch (err) {
      refused = err as Error;
    }
  }
  assert.match(refused?.message ?? "sshd never went away", /cannot connect over SSH/);

  // The base role of pod b, as the Pulumi program hands it to the provider for a new server.
  const loaded = loadStackFile(join(REPO, "stacks/lab-b.yaml"));
  assert.ok(loaded.ok);
  // With the key it logs in with, as the program does: sshd then reads root's keys from the base role's file alone.
  const state = roleNamed("base").state(roleContext(loaded.stack, "mx", () => undefined, labProfile(lab), publicKeyOfKeyFile(h.sshPrivateKeyPath)));
  const split = splitRoleState(state, { secrets: [], host: "mx" });
  const inputs: RoleInputs = {
    host: "mx", role: "base", address: h.address, port: 22, user: "root",
    hostKey: h.hostKey, hostKeyFingerprint: h.fingerprint, machineId: "lab-recreated",
    bootWaitMs: 180_000, privateKey: readFileSync(h.sshPrivateKeyPath, "utf8"),
    state: split.state, secretFiles: split.secretFiles,
  };

  // Without an engine the provider says its progress on stderr: collect it.
  const said: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => { said.push(args.map(String).join(" ")); original(...args); };
  const started = Date.now();
  let result;
  try {
    result = await roleProvider.create(inputs);
  } finally {
    console.error = original;
  }
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`converged after ${seconds.toFixed(1)} s; said:\n${said.join("\n")}`);

  assert.equal(result.id, "mx/base");
  assert.ok((result.outs?.changed.length ?? 0) > 0, "the role was applied");
  assert.ok(said.some((l) => /^base: mx \(10\.77\.0\.\d+:22\): waiting for SSH to answer with the pinned host key/.test(l)), "the SSH wait is shown");
  assert.ok(said.some((l) => /^base: mx: waiting for cloud-init to finish the first boot \(status: running\), at most \d+ s$/.test(l)), "the cloud-init wait is shown");
  assert.ok(seconds >= FIRST_BOOT_DONE_AFTER_S - 8, `it waited for the first boot to end (${seconds.toFixed(1)} s)`);
  // Applied after the first boot, not during it.
  const applied = await onHost(lab, HOST, "test -e /run/podkit-first-boot.done && cat /etc/mailname");
  assert.equal(applied.stdout.trim(), "mx.b.test");
});
