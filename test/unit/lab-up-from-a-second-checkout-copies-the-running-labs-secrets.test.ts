// One lab per machine, one set of lab pod secrets: those of the checkout that brought
// the lab up. A second checkout's `up` copies them; when it cannot, `up` and `apply`
// both say whose lab it is and what to do. No lab is brought up here: the
// lab state and both checkouts are made in a temporary directory.
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { adoptLabSecrets, labCheckout, labSecretsAdvice, type LabCheckout } from "../../lib/lab/checkout";
import { LabError } from "../../lib/lab/errors";
import { labProvider } from "../../lib/lab/provider";
import type { LabState } from "../../lib/lab/state";
import { loadStackFile } from "../../lib/stack/load";
import { loadPod, StackError } from "../../lib/stack/pod";
import { ensureGeneratedSecrets, SecretStore } from "../../lib/stack/secrets";

const ROOT = resolve(__dirname, "..", "..");

/** The secrets `up` makes for the lab pods (random values, a DKIM key), made once: RSA keys take a while. */
const MADE_BY_UP = (() => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-lab-secrets-"));
  return Object.fromEntries(labPods().map((stack) => {
    const loaded = loadStackFile(join(ROOT, stack));
    assert.ok(loaded.ok);
    const file = join(dir, stack.replace(/\//g, "_"));
    ensureGeneratedSecrets(loaded.stack, new SecretStore(file), { all: true });
    return [stack, file];
  }));
})();

function labPods(): string[] {
  return Object.keys(labCheckout(ROOT).secretsFiles);
}

/** Two checkouts, each with the lab stacks; `first` has the secrets the lab made when it came up. */
function twoCheckouts(): { first: LabCheckout; second: LabCheckout } {
  const dir = mkdtempSync(join(tmpdir(), "podkit-checkouts-"));
  const [first, second] = ["first", "second"].map((name) => {
    mkdirSync(join(dir, name, "stacks"), { recursive: true });
    for (const stack of labPods()) copyFileSync(join(ROOT, stack), join(dir, name, stack));
    return labCheckout(join(dir, name));
  });
  for (const [stack, file] of Object.entries(first.secretsFiles)) copyFileSync(MADE_BY_UP[stack], file);
  return { first, second };
}

/** A running lab's state as far as secrets and stacks need it: hosts and the checkout that brought it up. */
function labState(checkout?: LabCheckout): LabState {
  const host = (address: string) => ({ address, fqdn: "", hostKey: "", fingerprint: "", sshPrivateKeyPath: "", user: "root" });
  return { hosts: { a: host("10.77.0.11"), b: host("10.77.0.12"), backup: host("10.77.0.13") }, checkout } as unknown as LabState;
}

function adopt(state: LabState, here: LabCheckout): string[] {
  const lines: string[] = [];
  adoptLabSecrets(state, here, (l) => lines.push(l));
  return lines;
}

test("up in a second checkout copies the running lab's secrets files, private, and says where from in one line", () => {
  const { first, second } = twoCheckouts();
  const lines = adopt(labState(first), second);
  for (const stack of Object.keys(first.secretsFiles)) {
    assert.deepEqual(readFileSync(second.secretsFiles[stack]), readFileSync(first.secretsFiles[stack]));
    assert.equal(statSync(second.secretsFiles[stack]).mode & 0o777, 0o600);
  }
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.ok(lines[0].includes(`brought up from another checkout, ${first.root}; copied`), lines[0]);
  assert.match(lines[0], /stacks\/lab-a\.secrets\.yaml, stacks\/lab-b\.secrets\.yaml/);
});

test("the second checkout's own different values are replaced; the same values are left alone, silently", () => {
  const { first, second } = twoCheckouts();
  writeFileSync(second.secretsFiles["stacks/lab-a.yaml"], "alice-password: from-an-older-lab\n", { mode: 0o600 });
  copyFileSync(first.secretsFiles["stacks/lab-b.yaml"], second.secretsFiles["stacks/lab-b.yaml"]);
  const lines = adopt(labState(first), second);
  assert.deepEqual(readFileSync(second.secretsFiles["stacks/lab-a.yaml"]), readFileSync(first.secretsFiles["stacks/lab-a.yaml"]));
  assert.equal(lines.length, 1);
  assert.match(lines[0], /stacks\/lab-a\.secrets\.yaml, replacing this checkout's own\)$/);
  assert.doesNotMatch(lines[0], /lab-b/);
  assert.deepEqual(adopt(labState(first), second), [], "a second up copies nothing");
});

test("with the first checkout's secrets gone, up in the second refuses, naming that checkout and what to do", () => {
  const { first, second } = twoCheckouts();
  rmSync(first.secretsFiles["stacks/lab-b.yaml"]);
  assert.throws(() => adopt(labState(first), second), (err: Error) => {
    assert.ok(err instanceof LabError);
    assert.ok(err.message.includes(`brought up from another checkout, ${first.root}, and its secrets files are gone (${first.secretsFiles["stacks/lab-b.yaml"]})`), err.message);
    assert.match(err.message, /`npx podkit lab down`, then `npm run lab`$/);
    return true;
  });
  assert.ok(!existsSync(second.secretsFiles["stacks/lab-a.yaml"]), "a refused up copied a file anyway");
});

test("up in the checkout that brought the lab up changes nothing, and refuses when its secrets are gone", () => {
  const { first } = twoCheckouts();
  const before = readFileSync(first.secretsFiles["stacks/lab-a.yaml"]);
  assert.deepEqual(adopt(labState(first), labCheckout(first.root)), []);
  assert.deepEqual(readFileSync(first.secretsFiles["stacks/lab-a.yaml"]), before);
  rmSync(first.secretsFiles["stacks/lab-a.yaml"]);
  assert.throws(() => adopt(labState(first), first), /brought up from this checkout, but its secrets files are gone .*`npx podkit lab down`, then `npm run lab`$/);
});

test("a lab brought up by an older podkit, which recorded no checkout: up says what to do when this checkout has no secrets", () => {
  const { first, second } = twoCheckouts();
  assert.throws(() => adopt(labState(undefined), second), /older podkit.*`npx podkit lab down`, then `npm run lab`$/);
  assert.deepEqual(adopt(labState(undefined), first), [], "with secrets here, nothing to say");
});

test("apply of a lab pod without its secrets says, once, that the lab is another checkout's and `podkit lab up` copies them", () => {
  const { first, second } = twoCheckouts();
  const stack = join(second.root, "stacks", "lab-a.yaml");
  assert.throws(() => loadPod(stack, { requireSecrets: true, providers: { lab: labProvider(labState(first)) } }), (err: Error) => {
    assert.ok(err instanceof StackError);
    assert.equal(err.problems.length, 1, err.message);
    assert.match(err.message, /^.*lab-a\.yaml:\d+:\d+ hosts\.mx\.lab: \d+ secret\(s\) have no value in .*lab-a\.secrets\.yaml \(.*\): the running lab was brought up from another checkout/);
    assert.ok(err.message.includes(`${first.root}, and its secrets are in ${first.secretsFiles["stacks/lab-a.yaml"]}: \`npx podkit lab up\` here copies them`), err.message);
    return true;
  });
  adopt(labState(first), second);
  const pod = loadPod(stack, { requireSecrets: true, providers: { lab: labProvider(labState(first)) } });
  assert.equal(pod.addresses.mx.ipv4, "10.77.0.11");
});

test("apply with the first checkout's secrets gone says to take the lab down and up; with the lab down, each missing secret is named as before", () => {
  const { first, second } = twoCheckouts();
  const stack = join(second.root, "stacks", "lab-a.yaml");
  rmSync(first.secretsFiles["stacks/lab-a.yaml"]);
  assert.throws(() => loadPod(stack, { requireSecrets: true, providers: { lab: labProvider(labState(first)) } }), /and its secrets files are gone: take it down and bring it up from here: `npx podkit lab down`, then `npm run lab`/);
  assert.throws(() => loadPod(stack, { requireSecrets: true, providers: { lab: labProvider(null) } }), (err: Error) => {
    assert.match(err.message, /secret "backup-rest-password" has no value: add it to /);
    assert.match(err.message, /the lab is not running/);
    return true;
  });
  assert.equal(labSecretsAdvice(null, stack, labCheckout(second.root).secretsFiles["stacks/lab-a.yaml"]), undefined);
});
