// The program for stacks/hackspace.yaml: an existing bare-metal host and zone-file
// DNS. Nothing is created at a cloud provider; the host is described from the
// stack file with its pinned key, and the zones come out as a stack output.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadProgram, settle, startMocks, valueOf, type Program, type Recorded } from "./pulumi-mocks";

let rec: Recorded;
let program: Program;

before(async () => {
  process.chdir(resolve(__dirname, "../.."));
  rec = await startMocks("hackspace", {
    "podkit:relay-password": "r", "podkit:ada-password": "a", "podkit:grace-password": "g",
    "podkit:sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY-----\n(test)\n-----END OPENSSH PRIVATE KEY-----\n",
  }, ["podkit:relay-password", "podkit:ada-password", "podkit:grace-password", "podkit:sshPrivateKey"]);
  program = loadProgram();
  await settle(rec);
});

test("stacks/hackspace.yaml creates no cloud resources, only the DKIM key and the generated secrets' seeds", () => {
  // Components (podkit:*) and the roles (dynamic resources, run over SSH) are no cloud resources.
  const custom = rec.resources.filter((r) => !r.type.startsWith("podkit:") && !r.type.startsWith("pulumi-nodejs:dynamic"));
  assert.deepEqual(custom.map((r) => `${r.type} ${r.name}`).sort(), [
    "tls:index/privateKey:PrivateKey dkim-key", "tls:index/privateKey:PrivateKey password-salt-seed", "tls:index/privateKey:PrivateKey turn-secret-seed",
  ]);
  assert.equal(rec.calls.length, 0);
});

test("the existing host is reached as the stack file says, pinned to its host key", async () => {
  const box = await valueOf(pulumi.output(program.hosts.box));
  assert.deepEqual(
    { address: box.address, port: box.port, user: box.user, fingerprint: box.hostKeyFingerprint, kind: box.kind },
    { address: "192.0.2.25", port: 2222, user: "root", fingerprint: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", kind: "existing" });
  assert.equal(await valueOf(program.hostKeys.box), "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8");
  assert.equal(await valueOf(program.knownHosts), "", "only a fingerprint is known: no known_hosts line can be written");
  const roles = rec.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/podkit:Role");
  assert.ok(roles.length && roles.every((r) => r.inputs.bootWaitMs === 0), "a host that exists is not waited for: unreachable fails at once");
});

test("the zone file carries the existing host's addresses, the subdomain's records in the parent zone", async () => {
  const zones = await valueOf(program.zoneFiles!);
  assert.deepEqual(Object.keys(zones), ["hackspace.example"]);
  assert.match(zones["hackspace.example"], /^box\.hackspace\.example\.\s+3600 IN A\s+203\.0\.113\.25$/m);
  assert.match(zones["hackspace.example"], /^box\.hackspace\.example\.\s+3600 IN AAAA\s+2001:db8:25::25$/m);
  assert.match(zones["hackspace.example"], /^members\.hackspace\.example\.\s+3600 IN MX\s+10 box\.hackspace\.example\.$/m);
});

test("the existing host's roles carry the facts they were rendered for, so converge refuses a host that differs", () => {
  const roles = rec.resources.filter((r) => r.type === "pulumi-nodejs:dynamic/podkit:Role");
  assert.ok(roles.length);
  for (const r of roles) {
    assert.deepEqual(r.inputs.renderedFor, {
      // Nothing declared in stacks/hackspace.yaml: a machine of its own with IPv6 and a firewall.
      facts: { virtualization: "none", ipv6: true, firewall: true, release: "bookworm" },
      declared: {},
      field: "hosts.box.existing.profile",
    });
  }
});
