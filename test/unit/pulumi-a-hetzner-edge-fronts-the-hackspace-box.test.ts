// stacks/hackspace-edge.yaml under Pulumi's mocks: a Hetzner edge `gw` in front
// of the hackspace box. The edge's firewall opens what it forwards and the
// tunnel, its reverse DNS names the mail host it sends for, the zone publishes
// the box's names at the edge, and the box's roles run after the edge's,
// reached through it.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { before, test } from "node:test";
import { loadProgram, recordDependencies, settle, startMocks, valueOf, type Program, type Recorded, type Registered } from "./pulumi-mocks";

const ROLE_TYPE = "pulumi-nodejs:dynamic/podkit:Role";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\n(test)\n-----END OPENSSH PRIVATE KEY-----\n";

const dependencies = recordDependencies();

let rec: Recorded;
let program: Program;

before(async () => {
  process.chdir(resolve(__dirname, "../.."));
  rec = await startMocks("hackspace-edge", {
    "podkit:ada-password": "a-password-1", "podkit:grace-password": "g-password-2", "podkit:sshPrivateKey": KEY, "hcloud:token": "t",
  }, ["podkit:ada-password", "podkit:grace-password", "podkit:sshPrivateKey"]);
  program = loadProgram();
  await settle(rec);
});

const named = (type: string, name: string): Registered => {
  const r = rec.resources.find((x) => x.type === type && x.name === name);
  assert.ok(r, `${type} ${name}`);
  return r;
};

test("the edge's reverse DNS, on both addresses, is the mail host's name: mail leaves from there with that HELO", () => {
  for (const ip of ["ipv4", "ipv6"]) assert.equal(named("hcloud:index/rdns:Rdns", `gw-ptr-${ip}`).inputs.dnsPtr, "box.hackspace.example");
});

test("the edge's firewall opens its own ports, every port of the box it forwards, and the WireGuard port, each once", () => {
  const rules = named("hcloud:index/firewall:Firewall", "gw-firewall").inputs.rules as { protocol: string; port?: string; sourceIps: string[]; description: string }[];
  const open = rules.filter((r) => r.port).map((r) => `${r.protocol}/${r.port}`);
  for (const p of ["tcp/22", "tcp/25", "tcp/80", "tcp/443", "tcp/465", "tcp/587", "tcp/993", "tcp/5222", "tcp/5269", "udp/51820"]) assert.ok(open.includes(p), `${p} in ${open.join(" ")}`);
  assert.equal(new Set(open).size, open.length, `no port twice: ${open.join(" ")}`);
  // SSH stays the admins'; the box's own SSH is not forwarded (podkit reaches it through the edge).
  assert.deepEqual(rules.find((r) => r.port === "22")!.sourceIps, ["192.168.10.0/24", "198.51.100.0/24"]);
  assert.match(rules.find((r) => r.port === "993")!.description, /forwarded to box/);
});

test("the zone publishes the box's names at the edge's addresses and never the box's LAN address", async () => {
  const zone = (await valueOf(program.zoneFiles!))["hackspace.example"];
  const gw = await valueOf(program.addresses.gw.ipv4);
  assert.match(zone, new RegExp(`^box\\.hackspace\\.example\\.\\s+3600 IN A\\s+${gw.replace(/\./g, "\\.")}$`, "m"));
  assert.match(zone, /^box\.hackspace\.example\.\s+3600 IN AAAA\s+\S+$/m);
  assert.doesNotMatch(zone, /192\.168\.10\.25/);
});

test("the box's roles are reached through the edge at the box's tunnel address, with its LAN address as the way in before the tunnel", () => {
  const boxRoles = rec.resources.filter((r) => r.type === ROLE_TYPE && r.inputs.host === "box");
  assert.ok(boxRoles.length >= 3);
  for (const r of boxRoles) {
    assert.deepEqual([r.inputs.address, r.inputs.port, r.inputs.direct], ["10.201.0.2", 22, { address: "192.168.10.25", port: 22 }]);
    assert.equal(r.inputs.via.host, "gw");
    assert.match(r.inputs.via.hostKey, /^ssh-ed25519 /);
    assert.match(r.inputs.via.privateKey, /PRIVATE KEY/);
    assert.ok(r.secretInputs.has("via"), "the edge's key stays a secret");
  }
  for (const r of rec.resources.filter((x) => x.type === ROLE_TYPE && x.inputs.host === "gw")) assert.equal(r.inputs.via, undefined);
});

test("every role of the box waits for every role of the edge", () => {
  const edgeRoles = rec.resources.filter((r) => r.type === ROLE_TYPE && r.inputs.host === "gw").map((r) => r.name);
  assert.ok(edgeRoles.length >= 2);
  for (const r of rec.resources.filter((x) => x.type === ROLE_TYPE && x.inputs.host === "box")) {
    const deps = dependencies.get(r.name) ?? [];
    for (const e of edgeRoles) assert.ok(deps.some((u) => u.endsWith(`::${e}`)), `${r.name} waits for ${e}`);
  }
});
