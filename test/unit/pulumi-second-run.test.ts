// `pulumi up` run again, under mocks that answer as Hetzner and Cloudflare do
// (provider-model.ts): the second run over an unchanged stacks/hetzner.yaml
// must find nothing to do (a value the provider stores differently from what
// the program gives, like a key line with a trailing newline, shows up here as
// a change on every run), and an edited stack file must plan what the docs
// promise: a new server, never a deleted address, volume or DKIM key.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { planOf, type RunResource, type Step } from "./provider-model";
import { editedHetznerStack, hetznerConfig, runProgram } from "./pulumi-runs";

const SERVER = "hcloud:index/server:Server";
const PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp";
const VOLUME = "hcloud:index/volume:Volume";
const SSH_KEY = "hcloud:index/sshKey:SshKey";
const KEY = "tls:index/privateKey:PrivateKey";

let first: RunResource[];
before(() => {
  first = runProgram(hetznerConfig());
});

const show = (steps: Step[]) => steps.map((s) => `${s.op} ${s.type} ${s.name} (${s.changed.join(", ")})`).join("\n");
const step = (steps: Step[], type: string, name: string) => {
  const s = steps.find((x) => x.type === type && x.name === name);
  assert.ok(s, `a step for ${type} ${name}`);
  return s;
};
/** The pod's identity and data: both primary IPs, the volume, the DKIM key (and the pinned host key). */
const kept = (rs: RunResource[]) => rs.filter((r) => r.type === PRIMARY_IP || r.type === VOLUME || (r.type === KEY && ["dkim-key", "mx-host-key"].includes(r.name)));

test("a second `pulumi up` over stacks/hetzner.yaml finds every resource's inputs as the providers stored them", () => {
  const second = runProgram(hetznerConfig(), first);
  const steps = planOf(first, second);
  assert.ok(steps.length > 60, `the whole program: ${steps.length} resources`);
  assert.deepEqual(show(steps.filter((s) => s.op !== "same")), "", "nothing to change on the second run");
});

test("the addresses, the volume, the DKIM key and the host key are protected from `pulumi destroy` and replacement", () => {
  const names = kept(first).map((r) => `${r.type} ${r.name}`).sort();
  assert.equal(names.length, 5, names.join(", "));
  for (const r of kept(first)) assert.equal(r.protect, true, `${r.type} ${r.name} is protected`);
  // What is replaceable is not protected: the server can be rebuilt without unprotecting anything.
  assert.equal(first.find((r) => r.type === SERVER)!.protect, false);
});

test("a new image replaces the server and keeps both addresses, the volume and the DKIM key", () => {
  const second = runProgram(hetznerConfig(editedHetznerStack((t) => t.replace("image: debian-13", "image: debian-12"))), first);
  const steps = planOf(first, second);
  assert.equal(step(steps, SERVER, "mx-server").op, "replace", show(steps));
  for (const r of kept(first)) assert.equal(step(steps, r.type, r.name).op, "same", `${r.type} ${r.name} untouched\n${show(steps)}`);
  assert.deepEqual(steps.filter((s) => s.op === "delete").map((s) => s.name), []);
  // The volume is attached to the new server, and the addresses' reverse DNS stays.
  assert.equal(step(steps, "hcloud:index/volumeAttachment:VolumeAttachment", "mx-data-attachment").op, "replace");
  assert.equal(step(steps, "hcloud:index/rdns:Rdns", "mx-ptr-ipv4").op, "same");
});

test("a new server type resizes the server in place: nothing is replaced", () => {
  const second = runProgram(hetznerConfig(editedHetznerStack((t) => t.replace("serverType: cx23", "serverType: cx33"))), first);
  const steps = planOf(first, second);
  const server = step(steps, SERVER, "mx-server");
  assert.deepEqual([server.op, server.changed], ["update", ["serverType"]]);
  assert.deepEqual(steps.filter((s) => s.op === "replace" || s.op === "delete").map((s) => s.name), []);
});

test("a new location is refused before anything is deleted: the addresses and the volume are protected, and new ones would not clash by name", () => {
  const second = runProgram(hetznerConfig(editedHetznerStack((t) => t.replace("location: fsn1", "location: hel1"))), first);
  const steps = planOf(first, second);
  const refused = steps.filter((s) => s.refused).map((s) => `${s.op} ${s.name}`).sort();
  assert.deepEqual(refused, ["replace mx-data", "replace mx-ipv4", "replace mx-ipv6"], show(steps));
  // After `pulumi state unprotect`, Pulumi creates the replacements before deleting the old
  // ones: Hetzner refuses a second resource of the same name, so the names differ.
  for (const type of [PRIMARY_IP, VOLUME]) {
    const before = first.filter((r) => r.type === type).map((r) => r.inputs.name);
    const after = second.filter((r) => r.type === type).map((r) => r.inputs.name);
    for (const n of after) assert.ok(!before.includes(n), `${type} ${n} is a new name`);
  }
});

test("changing the admins' keys replaces no server, and a replacement server gets key ids that still exist", () => {
  const newKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINoor0000000000000000000000000000000000000000 noor@laptop";
  const edited = editedHetznerStack((t) => t.replace(/    - ssh-ed25519 \S+ sam@laptop/, `    - ${newKey}`).replace("image: debian-13", "image: debian-12"));
  const keysOnly = editedHetznerStack((t) => t.replace(/    - ssh-ed25519 \S+ sam@laptop/, `    - ${newKey}`));
  const keySteps = planOf(first, runProgram(hetznerConfig(keysOnly), first));
  assert.equal(step(keySteps, SERVER, "mx-server").op, "same", show(keySteps));

  const second = runProgram(hetznerConfig(edited), first);
  assert.equal(step(planOf(first, second), SERVER, "mx-server").op, "replace");
  // The engine creates a replacement from the new inputs, except ignored ones, which it takes from the old.
  const server = second.find((r) => r.type === SERVER)!;
  const used: string[] = server.ignoreChanges.includes("sshKeys") ? first.find((r) => r.type === SERVER)!.inputs.sshKeys : server.inputs.sshKeys;
  const existing = second.filter((r) => r.type === SSH_KEY).map((r) => r.id);
  for (const id of used) assert.ok(existing.includes(id), `SSH key id ${id} given to the new server exists`);
});

test("a server booted with an earlier podkit's user data is kept: user data matters only at a server's first boot", () => {
  // Until this version the user data asked for `ssh_genkeytypes: []`, which cloud-init's
  // schema refuses; every pod running then booted from it. Rendering it right must not
  // replace their servers (a server without a volume would lose its mailboxes).
  const rendered = JSON.stringify(first);
  const earlier: RunResource[] = JSON.parse(rendered.replace(/ssh_genkeytypes:\\n  - ed25519\\n/g, "ssh_genkeytypes: []\\n"));
  assert.notEqual(JSON.stringify(earlier), rendered, "the earlier user data differs from today's");
  const steps = planOf(earlier, runProgram(hetznerConfig(), earlier));
  assert.equal(step(steps, SERVER, "mx-server").op, "same", show(steps));
});
