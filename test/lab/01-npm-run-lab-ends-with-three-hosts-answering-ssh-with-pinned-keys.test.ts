// Must show 1: `npm run lab` ends with three lab hosts answering SSH with pinned keys, and a
// host presenting any other key is refused (node-ssh and OpenSSH alike).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { labHostsOf } from "../../lib/lab/state";
import { connectPinned, HostKeyMismatch } from "../../lib/ssh/connect";
import { labTarget, sshArgs } from "../../lib/lab/ssh";
import { readLabState } from "../../lib/lab/state";
import { assertColdLabLog } from "./apply-output";
import { onHost, reportTimings, run } from "./helpers";

test("npm run lab brings up hosts a, b and backup and prints their pinned host keys", { timeout: 600_000 }, async (t) => {
  const started = Date.now();
  const r = await run("npm", ["run", "--silent", "lab"]);
  t.diagnostic(`npm run lab took ${((Date.now() - started) / 1000).toFixed(1)} s (lab up and the first apply of both pods)`);
  assert.equal(r.code, 0, `npm run lab failed:\n${r.stderr}\n${r.stdout}`);
  const state = readLabState();
  assert.ok(state, "the lab state file exists after npm run lab");
  // The three fixed hosts, and the workshop seats if this lab was brought up with some (test 45).
  assert.deepEqual(Object.keys(state.hosts).sort(), labHostsOf(state).map((h) => h.name).sort());
  for (const [name, h] of Object.entries(state.hosts)) {
    // `up` prints each host's address and fingerprint; `npm run lab` on an up lab prints "already up".
    if (!/already up/.test(r.stderr)) assert.match(r.stdout, new RegExp(`${name}\\s+${h.address.replace(/\./g, "\\.")}.*${h.fingerprint.replace(/[+/]/g, "\\$&")}`));
  }
  reportTimings(t, state);
  // The log a person reads (a pipe: no control codes, every line whose it is), when this run applied
  // the pods to empty hosts, as on every fresh machine and in CI; a lab already up has nothing to show.
  if (/^lab ready: /m.test(r.stdout) && /^HOST +ROLE +CHANGES/m.test(r.stdout) && !/^no changes/m.test(r.stdout)) {
    t.diagnostic(`npm run lab, stdout (a pipe):\n${r.stdout}`);
    assertColdLabLog(r);
  } else {
    t.diagnostic("the lab's pods were applied already: the cold log form is not shown by this run");
  }
});

test("every lab host answers SSH with exactly the host key the lab pinned", async () => {
  const state = readLabState()!;
  for (const [name, h] of Object.entries(state.hosts)) {
    const r = await onHost(state, name, "hostname; cat /etc/ssh/ssh_host_ed25519_key.pub; cat /etc/machine-id; systemctl is-system-running --wait");
    // A degraded host names its failed units and what they said, so the failure can be read from this run.
    const failed = r.code === 0 ? "" : (await onHost(state, name, "systemctl --failed --no-legend --plain; for u in $(systemctl --failed --no-legend --plain | cut -d' ' -f1); do journalctl -u $u -n 5 --no-pager -o cat; done")).stdout;
    assert.equal(r.code, 0, `on ${name}: ${r.stdout}${r.stderr}\nfailed units:\n${failed}`);
    const [hostname, pub, machineId, running] = r.stdout.trim().split("\n");
    // a and b run the pods (npm run lab applies them): the base role names them after the stack's host, mx.
    assert.equal(hostname, name === "backup" ? "backup" : "mx");
    assert.equal(pub.split(" ").slice(0, 2).join(" "), h.hostKey);
    assert.match(machineId, /^[0-9a-f]{32}$/);
    assert.equal(running, "running", `systemd on ${name} is "${running}", not running`);
    // The printed fingerprint is the one ssh-keygen computes from the key.
    const f = await run("bash", ["-c", `ssh-keygen -lf - <<< '${h.hostKey}'`]);
    assert.ok(f.stdout.includes(h.fingerprint), `${f.stdout} does not show ${h.fingerprint}`);
  }
});

test("lab hosts are clones with their own machine-id and host key", async () => {
  const state = readLabState()!;
  const ids = await Promise.all(Object.keys(state.hosts).map(async (n) => (await onHost(state, n, "cat /etc/machine-id")).stdout.trim()));
  assert.equal(new Set(ids).size, ids.length, `machine-ids repeat: ${ids.join(", ")}`);
  const keys = Object.values(state.hosts).map((h) => h.hostKey);
  assert.equal(new Set(keys).size, keys.length, "host keys repeat");
});

test("a host presenting a key other than the pinned one is refused", async () => {
  const state = readLabState()!;
  const a = state.hosts.a;
  const wrong = state.hosts.b.hostKey; // a real key, just not a's
  await assert.rejects(connectPinned(labTarget("a", a.address, wrong)), HostKeyMismatch);
});

test("OpenSSH with the lab's known_hosts and StrictHostKeyChecking=yes logs in, and refuses a wrong key", async () => {
  const state = readLabState()!;
  const ok = await run("ssh", [...sshArgs(state, "b"), "cat /etc/ssh/ssh_host_ed25519_key.pub"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stdout.trim().split(" ").slice(0, 2).join(" "), state.hosts.b.hostKey, "logged in to the host whose key is pinned");

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podkit-lab-kh-"));
  try {
    const wrongKnownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(wrongKnownHosts, `${state.hosts.b.address} ${state.hosts.a.hostKey}\n`);
    const args = sshArgs(state, "b").map((a) => (a.startsWith("UserKnownHostsFile=") ? `UserKnownHostsFile=${wrongKnownHosts}` : a));
    const refused = await run("ssh", [...args, "hostname"]);
    assert.notEqual(refused.code, 0, "ssh logged in although the pinned key was wrong");
    assert.match(refused.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("with the base tree cached, each host is up in under 5 s and the whole lab in under 30 s", (t) => {
  const state = readLabState()!;
  reportTimings(t, state);
  for (const [name, h] of Object.entries(state.timings.hosts)) assert.ok(h.totalMs < 5000, `host ${name} took ${h.totalMs} ms`);
  if (state.timings.baseBuildMs === null) assert.ok(state.timings.upMs < 30_000, `lab up took ${state.timings.upMs} ms`);
});
