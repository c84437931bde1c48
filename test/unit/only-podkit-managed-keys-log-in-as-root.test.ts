// Who can log in as root on a pod host: the keys in the stack's admin.sshKeys
// and podkit's own login key, from one file the base role writes. sshd reads no
// other file, so a key cloud-init put in /root/.ssh/authorized_keys at a
// Hetzner server's first boot, or one put there by hand, grants nothing, and a
// key taken out of the stack is refused after the next apply. podkit's own key
// must be in that file, or the apply that writes it would be podkit's last.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { lockoutProblems, planWork, roleContext } from "../../lib/converge/pod";
import type { RoleState } from "../../lib/converge/types";
import { publicKeyOfKeyFile, publicKeyOfPrivateKey } from "../../lib/ssh/login-key";
import { bareKey } from "../../lib/ssh/keys";
import { loadStackFile } from "../../lib/stack/load";
import { loadPod } from "../../lib/stack/pod";
import { base } from "../../roles/base/role";
import { profileOf, TEST_PROVIDERS } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const KEYS_FILE = "/etc/ssh/authorized_keys.d/root";
const SAM = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx0vU6m2wq1ZpQx9GZyYbQe3Fh8m2H0o9n8b7v6c5d4 sam@laptop";
const NOOR = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoor0000000000000000000000000000000000000000 noor@laptop";

function stackWithAdminKeys(keys: string[]) {
  const text = readFileSync(join(ROOT, "stacks/hetzner.yaml"), "utf8")
    .replace(/^  sshKeys:\n(    - .*\n)+/m, keys.length ? `  sshKeys:\n${keys.map((k) => `    - ${k}\n`).join("")}` : "  sshKeys: []\n");
  const file = join(mkdtempSync(join(tmpdir(), "podkit-keys-")), "hetzner.yaml");
  writeFileSync(file, text.replace("$schema=../schema/", `$schema=${ROOT}/schema/`));
  const loaded = loadStackFile(file);
  assert.ok(loaded.ok, JSON.stringify(!loaded.ok && loaded.problems));
  return loaded.stack;
}

const fileOf = (state: RoleState, path: string) => state.files.find((f) => f.path === path)?.content;
/** The key lines of an authorized_keys file, comments left out. */
const keyLines = (text: string | undefined) => (text ?? "").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
function renderBase(adminKeys: string[], loginKey?: string): RoleState {
  const stack = stackWithAdminKeys(adminKeys);
  return base.state(roleContext(stack, "mx", () => "x", profileOf(stack, "mx"), loginKey));
}
function newKeyFile(dir: string, comment: string): string {
  const file = join(dir, "id_ed25519");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  return file;
}

test("sshd reads root's keys from podkit's file alone: ~/.ssh/authorized_keys is not among them", () => {
  const conf = fileOf(renderBase([SAM]), "/etc/ssh/sshd_config.d/podkit.conf")!;
  const lines = conf.split("\n").filter((l) => /^\s*AuthorizedKeys/i.test(l));
  assert.deepEqual(lines, ["AuthorizedKeysFile /etc/ssh/authorized_keys.d/%u"]);
});

test("root's keys are the stack's admin keys and podkit's login key, nothing else", () => {
  const deploy = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDep1oy0000000000000000000000000000000000000";
  assert.deepEqual(keyLines(fileOf(renderBase([SAM, NOOR], deploy), KEYS_FILE)), [SAM, NOOR, deploy]);
});

test("a key taken out of admin.sshKeys is no longer in root's keys, and podkit's key stays", () => {
  const deploy = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDep1oy0000000000000000000000000000000000000";
  const before = keyLines(fileOf(renderBase([SAM, NOOR], deploy), KEYS_FILE));
  const after = keyLines(fileOf(renderBase([SAM], deploy), KEYS_FILE));
  assert.ok(before.includes(NOOR));
  assert.deepEqual(after, [SAM, deploy]);
  assert.deepEqual(keyLines(fileOf(renderBase([], deploy), KEYS_FILE)), [deploy], "no admin keys at all still leaves podkit its way in");
});

test("podkit's login key that is also an admin key is listed once, and its comment never reaches the file", () => {
  const sameAsSam = `${bareKey(SAM)} sam@another-laptop`;
  assert.deepEqual(keyLines(fileOf(renderBase([SAM], sameAsSam), KEYS_FILE)), [SAM]);
  const deploy = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDep1oy0000000000000000000000000000000000000 whoever@wherever";
  assert.deepEqual(keyLines(fileOf(renderBase([SAM], deploy), KEYS_FILE)), [SAM, bareKey(deploy)]);
});

test("the public half of a private key file is read from its .pub, else derived from the key itself", () => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-login-key-"));
  const file = newKeyFile(dir, "admin@box");
  const pub = readFileSync(`${file}.pub`, "utf8").trim();
  assert.equal(publicKeyOfKeyFile(file), pub);
  execFileSync("rm", [`${file}.pub`]);
  assert.equal(bareKey(publicKeyOfKeyFile(file)!), bareKey(pub), "derived without the .pub");
  assert.equal(publicKeyOfKeyFile(join(dir, "missing")), undefined);
  assert.equal(publicKeyOfPrivateKey("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n"), undefined);
  // A PEM RSA key (what `pulumi config set --secret podkit:sshPrivateKey` may hold) works too.
  const pem = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  assert.match(publicKeyOfPrivateKey(pem) ?? "", /^ssh-rsa AAAA/);
});

/** stacks/hackspace.yaml (one existing host, "box") with its secrets, in a directory of its own. */
function hackspacePod() {
  const dir = mkdtempSync(join(tmpdir(), "podkit-apply-key-"));
  writeFileSync(join(dir, "s.yaml"), readFileSync(join(ROOT, "stacks/hackspace.yaml"), "utf8").replace("$schema=../schema/", `$schema=${ROOT}/schema/`));
  const dkim = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(join(dir, "s.secrets.yaml"), `ada-password: a\ngrace-password: g\nrelay-password: r\npassword-salt: s\nturn-secret: t\ndkim-key: |\n${dkim.trimEnd().replace(/^/gm, "  ")}\n`, { mode: 0o600 });
  return { dir, pod: loadPod(join(dir, "s.yaml"), { providers: TEST_PROVIDERS, requireSecrets: true, log: () => undefined }) };
}

test("`podkit apply --identity KEY` keeps KEY in root's keys on an existing host; with the agent only the admins' keys are there", () => {
  const { dir, pod } = hackspacePod();
  const admins = pod.stack.admin.sshKeys;
  const identity = newKeyFile(dir, "podkit@admin-machine");
  const baseOf = (identity?: string) => planWork(pod, { identity }).flatMap((w) => w.states).find((s) => s.role === "base")!;

  const withKey = keyLines(fileOf(baseOf(identity), KEYS_FILE));
  assert.deepEqual(withKey, [...admins, bareKey(readFileSync(`${identity}.pub`, "utf8"))]);
  assert.deepEqual(keyLines(fileOf(baseOf(undefined), KEYS_FILE)), admins);
});

test("`podkit apply` through an SSH agent none of whose keys is an admin key stops before any host, saying how to fix it", () => {
  const { dir, pod } = hackspacePod();
  const work = planWork(pod, {});
  const stranger = readFileSync(`${newKeyFile(mkdtempSync(join(dir, "agent-")), "someone@else")}.pub`, "utf8").trim();
  const refused = lockoutProblems(pod, work, () => [stranger]);
  assert.ok(refused, "refused");
  const [problem] = refused.problems;
  assert.equal(problem.field, "admin.sshKeys");
  assert.match(problem.message, /podkit logs in to host "box" with the SSH agent, and none of its keys \(SHA256:[^)]+\) is in admin\.sshKeys/);
  assert.match(problem.message, /Add your public key to admin\.sshKeys, or pass --identity/);

  // An agent holding an admin key, no agent at all (the login fails on its own), or a key file: nothing to say.
  assert.equal(lockoutProblems(pod, work, () => [stranger, pod.stack.admin.sshKeys[0]]), undefined);
  assert.equal(lockoutProblems(pod, work, () => []), undefined);
  assert.equal(lockoutProblems(pod, planWork(pod, { identity: newKeyFile(dir, "podkit@admin-machine") }), () => [stranger]), undefined);
  // Roles that do not write root's keys (--role mail) cannot lock anyone out.
  assert.equal(lockoutProblems(pod, planWork(pod, { roles: ["mail"] }), () => [stranger]), undefined);
});

test("a key file whose public half podkit cannot read is refused before any host: podkit could not keep it", () => {
  const { dir, pod } = hackspacePod();
  const file = join(dir, "encrypted");
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "a passphrase", "-f", file]);
  execFileSync("rm", [`${file}.pub`]);
  const refused = lockoutProblems(pod, planWork(pod, { identity: file }), () => []);
  assert.ok(refused);
  assert.match(refused.problems[0].message, new RegExp(`cannot read the public key of ${file}.*ssh-keygen -y -f ${file} > ${file}\\.pub`));
});
