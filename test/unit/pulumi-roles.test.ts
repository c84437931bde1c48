// The roles under `pulumi up`, for stacks/hetzner.yaml under Pulumi's mocks:
// one dynamic resource per (host, role) in apply order, each waiting for the
// one before it, the server and the DNS records; inputs that are the state
// `podkit apply` would render, with every password and key a secret.
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { before, test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { secretFromSeed } from "../../lib/infra/generated-secrets";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { GENERATED } from "../../lib/stack/secrets";
import { registeredRoles, roleNamed } from "../../lib/converge/registry";
import { forTests, type RoleInputs } from "../../lib/pulumi/role-provider";
import { rolesByHost } from "../../lib/stack/derive";
import { loadStackFile } from "../../lib/stack/load";
import { HETZNER_SECRETS, loadProgram, recordDependencies, plainLeaks, privateKeyLines, ofType, settle, startMocks, type Recorded, type Registered } from "./pulumi-mocks";

const ROOT = resolve(__dirname, "../..");
const ROLE_TYPE = "pulumi-nodejs:dynamic/podkit:Role";
const SECRETS = HETZNER_SECRETS;
/** The generated secrets (password salt key, TURN secret) from the seed keys the tls mocks handed out. */
const generatedValues = () => Object.fromEntries(Object.values(GENERATED).filter((n) => rec.keys.has(`${n}-seed`))
  .map((n) => [n, secretFromSeed(n, rec.keys.get(`${n}-seed`)!.privateKeyPem)]));

const dependencies = recordDependencies();

let rec: Recorded;

before(async () => {
  process.chdir(ROOT);
  rec = await startMocks("hetzner", { ...SECRETS, "hcloud:token": "t", "cloudflare:apiToken": "t" }, Object.keys(SECRETS));
  loadProgram();
  await settle(rec);
});

const loaded = loadStackFile(join(ROOT, "stacks/hetzner.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
/** The roles on mx, in apply order. */
const expected = rolesByHost(stack).mx;
const roleResources = () => ofType(rec, ROLE_TYPE);
const byName = (name: string): Registered => {
  const r = roleResources().find((x) => x.name === name);
  assert.ok(r, `a role resource ${name}`);
  return r;
};
/** A child's URN carries its parent's type: urn:…::podkit:roles:HostRoles$pulumi-nodejs:dynamic/podkit:Role::mx-role-base. */
const urnOf = (r: Registered) =>
  r.parent ? `${r.parent.slice(0, r.parent.lastIndexOf("::"))}$${r.type}::${r.name}` : `urn:pulumi:hetzner::podkit::${r.type}::${r.name}`;

test("the mocked program creates a role resource for every role on every host, in dependency order", () => {
  assert.ok(expected.length >= 3 && expected.slice(0, 3).join() === "base,tls,web", `base, tls, web at least: ${expected}`);
  assert.deepEqual(roleResources().map((r) => r.name).sort(), expected.map((r) => `mx-role-${r}`).sort());

  // Follow the dependencies from the role that depends on no other role: the chain is the apply order.
  const roleUrns = new Map(roleResources().map((r) => [urnOf(r), r.inputs.role as string]));
  const rolesBefore = (r: Registered) => (dependencies.get(r.name) ?? []).filter((u) => roleUrns.has(u)).map((u) => roleUrns.get(u)!);
  const chain: string[] = [];
  let next = roleResources().filter((r) => rolesBefore(r).length === 0);
  while (next.length === 1) {
    chain.push(next[0].inputs.role);
    next = roleResources().filter((r) => rolesBefore(r).includes(chain[chain.length - 1]));
  }
  assert.equal(next.length, 0, "one chain, no branches");
  assert.deepEqual(chain, expected, "each role waits for the one before it");
  assert.deepEqual(chain, registeredRoles().map((r) => r.name).filter((r) => chain.includes(r)));

  // Every role waits for the whole host (server, volume attachment) and for every DNS record.
  const server = ofType(rec, "hcloud:index/server:Server")[0];
  const records = ofType(rec, "cloudflare:index/dnsRecord:DnsRecord");
  assert.ok(records.length > 30);
  for (const r of roleResources()) {
    const deps = dependencies.get(r.name) ?? [];
    assert.ok(deps.some((u) => u.endsWith(`hcloud:index/server:Server::${server.name}`)), `${r.name} waits for the server`);
    assert.ok(deps.some((u) => u.includes("volumeAttachment:VolumeAttachment::")), `${r.name} waits for the data volume`);
    for (const d of records) assert.ok(deps.some((u) => u.endsWith(`::${d.name}`)), `${r.name} waits for DNS record ${d.name}`);
  }
});

test("a role resource reaches its host through the pinned key and the deploy key, is told which machine it is, and waits for a new server to boot", () => {
  const server = ofType(rec, "hcloud:index/server:Server")[0];
  const hostKey = rec.keys.get("mx-host-key")!;
  for (const r of roleResources()) {
    assert.equal(r.inputs.host, "mx");
    assert.equal(r.inputs.address, server.state.ipv4Address);
    assert.deepEqual([r.inputs.port, r.inputs.user], [22, "root"]);
    assert.equal(r.inputs.hostKey, hostKey.publicKeyOpenssh.trim());
    assert.match(r.inputs.hostKeyFingerprint, /^SHA256:/);
    assert.equal(r.inputs.machineId, server.id, "a new server id means a new machine to converge");
    assert.equal(r.inputs.privateKey, rec.keys.get("mx-deploy-key")!.privateKeyOpenssh);
    assert.ok(r.inputs.bootWaitMs >= 60_000, "cloud-init runs before sshd answers on a new server");
  }
});

test("the inputs are the state podkit apply renders for the same stack and secrets", () => {
  const values: Record<string, string> = Object.fromEntries(Object.entries(SECRETS).map(([k, v]) => [k.replace(/^podkit:/, ""), v]));
  values["dkim-key"] = rec.keys.get("dkim-key")!.privateKeyPemPkcs8;
  Object.assign(values, generatedValues());
  for (const name of expected) {
    const r = byName(`mx-role-${name}`);
    // The stack's host has a data volume: its device is part of the host's profile.
    const profile = { ...HCLOUD_PROFILE, dataVolume: ofType(rec, "hcloud:index/volume:Volume")[0].state.linuxDevice as string };
    // podkit's login key on a Hetzner server is its deploy key (the base role lets it in).
    const want = roleNamed(name).state(roleContext(stack, "mx", (n) => values[n], profile, rec.keys.get("mx-deploy-key")!.publicKeyOpenssh));
    const got = forTests.roleStateOf(r.inputs as RoleInputs);
    // Files come back keyed by path: compare them as a set, the rest as is.
    const sortFiles = (s: typeof want) => ({ ...s, files: [...s.files].sort((a, b) => a.path.localeCompare(b.path)) });
    assert.deepEqual(sortFiles(got), sortFiles(want), `${name}: same desired state as podkit apply`);
  }
});

test("role inputs that hold passwords or keys are secrets", () => {
  const generated = Object.values(generatedValues());
  assert.equal(generated.length, 2, "the password salt key and the TURN secret are generated");
  // Every secret value, whatever its length or characters; keys by each line of their PEM.
  const secretValues = [...Object.values(SECRETS), ...generated, ...[...rec.keys.values()].flatMap((k) => [k.privateKeyOpenssh, k.privateKeyPem, k.privateKeyPemPkcs8].flatMap(privateKeyLines))];
  assert.deepEqual(plainLeaks(roleResources(), secretValues), [], "no password, key or generated secret outside a secret input");
  for (const r of roleResources()) {
    assert.ok(r.secretInputs.has("privateKey"), `${r.name}: the deploy key is a secret input`);
    assert.ok(r.secretInputs.has("secretFiles"), `${r.name}: secret file contents are a secret input`);
    assert.ok(!r.secretInputs.has("state"), `${r.name}: the rest of the state is shown in previews`);
    // Secret files are in state only as an HMAC; their content only in secretFiles.
    for (const [path, f] of Object.entries(r.inputs.state.files as Record<string, { content?: string; contentHmac?: string; secret?: boolean }>)) {
      if (!f.secret) continue;
      assert.equal(f.content, undefined, `${r.name} ${path}: no content in state`);
      assert.match(f.contentHmac ?? "", /^[0-9a-f]{64}$/);
      assert.ok(typeof r.inputs.secretFiles[path] === "string", `${r.name} ${path}: content in secretFiles`);
    }
  }
  // The mail role, once it exists, has password files and the DKIM key: they must be among the secret files.
  const mail = roleResources().find((r) => r.inputs.role === "mail");
  if (mail) {
    const secretPaths = Object.keys(mail.inputs.secretFiles);
    assert.ok(secretPaths.some((p) => p.startsWith("/etc/dkimkeys/")), "the DKIM private key is a secret file");
    assert.ok(mail.inputs.secretFiles[secretPaths.find((p) => p.startsWith("/etc/dkimkeys/"))!].includes(rec.keys.get("dkim-key")!.privateKeyPemPkcs8.split("\n")[1]));
  }
});
