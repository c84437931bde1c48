// Root on a pod host is reachable with the keys the stack names and podkit's own,
// and nothing else: an admin key added to pod a's stack logs in after an apply;
// taken out of the stack again, it is refused after the next apply (while podkit
// still applies); and a key put in /root/.ssh/authorized_keys by hand, as
// cloud-init does with a Hetzner server's keys at first boot, grants nothing.
// Pod a is left as its stack file says, and root's home as it was.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { onHost, REPO, run } from "./helpers";
import { apply, ensurePods, type Pods } from "./pods";

let pods: Pods;
const dir = mkdtempSync(path.join(tmpdir(), "podkit-admin-keys-"));
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const withAdmin = path.join(dir, "lab-a.yaml");
/** root's own authorized_keys on lab host a before the test, put back after. */
let rootKeysBefore: string | undefined;

function newKey(name: string): { file: string; pub: string } {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}@lab-test`, "-f", file]);
  return { file, pub: readFileSync(`${file}.pub`, "utf8").trim() };
}
const admin = newKey("admin");
const byHand = newKey("by-hand");

/** Logs in as root on pod a's host with `key` alone (no agent), the host key pinned: whether sshd let it in. */
async function logsIn(key: { file: string }): Promise<{ ok: boolean; said: string }> {
  const r = await run("ssh", [
    "-i", key.file, "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
    "-o", `UserKnownHostsFile=${pods.lab.knownHostsPath}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=10", `root@${pods.a.ip}`, "true",
  ], 30_000);
  return { ok: r.code === 0, said: r.stderr.trim() };
}

before(async () => {
  pods = await ensurePods(["a"]);
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  // The lab stack's admin mapping, with the admin's key added (the admin machine stays the only SSH source).
  const edited = original.replace("admin: { sshFrom: [10.77.0.1/32] }\n", `admin:\n  sshFrom: [10.77.0.1/32]\n  sshKeys:\n    - ${admin.pub}\n`);
  assert.notEqual(edited, original);
  writeFileSync(withAdmin, edited);
  const r = await onHost(pods.lab, "a", "cat /root/.ssh/authorized_keys 2>/dev/null");
  rootKeysBefore = r.code === 0 ? r.stdout : undefined;
});

after(async () => {
  if (rootKeysBefore !== undefined) {
    const b64 = Buffer.from(rootKeysBefore).toString("base64");
    await onHost(pods.lab, "a", `echo ${b64} | base64 -d > /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`);
  }
  // Leave pod a as its stack file says, for the tests that follow.
  const back = await apply("stacks/lab-a.yaml");
  assert.equal(back.report.exitCode, undefined, `putting pod a back: ${back.stderr}`);
});

test("an admin key in the stack logs in as root after an apply", async () => {
  const r = await apply(withAdmin, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const base = r.report.hosts[0].roles.find((x: { role: string }) => x.role === "base");
  assert.ok(base.items.includes("/etc/ssh/authorized_keys.d/root"), `root's keys changed: ${base.items.join(", ")}`);
  const login = await logsIn(admin);
  assert.ok(login.ok, `the admin key logs in: ${login.said}`);
});

test("the key taken out of the stack is refused after the next apply, and podkit still applies", async () => {
  const r = await apply("stacks/lab-a.yaml");
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const login = await logsIn(admin);
  assert.equal(login.ok, false, "the removed admin key no longer logs in");
  assert.match(login.said, /Permission denied \(publickey\)/);
  // podkit's own key is in root's keys: it logs in, and finds nothing to do.
  const again = await apply("stacks/lab-a.yaml");
  assert.equal(again.report.exitCode, undefined, again.stderr);
  assert.equal(again.changes, 0, "a second apply changes nothing");
});

test("a key put in /root/.ssh/authorized_keys by hand grants nothing", async () => {
  const put = await onHost(pods.lab, "a", `mkdir -p /root/.ssh && printf '%s\\n%s\\n' '${byHand.pub}' '${admin.pub}' >> /root/.ssh/authorized_keys && chmod 600 /root/.ssh/authorized_keys`);
  assert.equal(put.code, 0, put.stderr);
  for (const key of [byHand, admin]) {
    const login = await logsIn(key);
    assert.equal(login.ok, false, `${path.basename(key.file)}: a key in root's own authorized_keys does not log in`);
    assert.match(login.said, /Permission denied \(publickey\)/);
  }
});
