// DNS of a pod whose mail host sits behind an edge (`hosts.box.edge: gw`): the
// box's names resolve to the edge, the box's own (LAN) address is published
// nowhere, a name both declare is one record, and SPF's `mx` authorises the edge.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { registeredRoles } from "../../lib/converge/registry";
import type { Role } from "../../lib/converge/role";
import { planDns } from "../../lib/dns/plan";
import { publicAddresses } from "../../lib/dns/public-addresses";
import type { DnsRecord } from "../../lib/dns/records";
import { renderZones } from "../../lib/dns/zonefile";
import { parseStack } from "../../lib/stack/load";
import type { Stack } from "../../lib/stack/schema";

function stackFrom(file: string): Stack {
  const r = parseStack(readFileSync(file, "utf8"), file);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("\n"));
  return r.stack;
}
const find = (rs: DnsRecord[], name: string, type: string) => rs.filter((r) => r.name === name && r.type === type);
const values = (rs: DnsRecord[]) => rs.map((r) => ("value" in r ? r.value : ""));

// The lab's edge pod as `podkit zone` sees it: the lab knows the box by its address on the NAT'd segment.
const LAB = { gw: { ipv4: "10.77.0.14" }, box: { ipv4: "10.77.1.11" } };

test("every name the box serves resolves to the edge's address, and the box's LAN address is in no record", () => {
  const stack = stackFrom("stacks/lab-edge.yaml");
  const rs = planDns(stack, { addresses: LAB, dkimPublicKey: "MIIBkey" });
  for (const name of ["gw.hs.test", "box.hs.test", "mta-sts.hs.test", "autoconfig.hs.test", "hs.test", "conference.hs.test", "upload.hs.test"]) {
    assert.deepEqual(values(find(rs, name, "A")), ["10.77.0.14"], `${name} A`);
  }
  const zone = renderZones(stack, rs).map((z) => z.text).join("\n");
  assert.doesNotMatch(zone, /10\.77\.1\.11/);
  assert.doesNotMatch(JSON.stringify(rs), /10\.77\.1\.11/);
});

test("MX and SRV still name the mail host, and SPF's mx (with the HELO name's a) therefore authorises the edge", () => {
  const rs = planDns(stackFrom("stacks/lab-edge.yaml"), { addresses: LAB });
  assert.deepEqual(find(rs, "hs.test", "MX").map((r) => r.type === "MX" && r.value), ["box.hs.test"]);
  assert.deepEqual(values(find(rs, "hs.test", "TXT")), ["v=spf1 mx -all"]);
  assert.deepEqual(values(find(rs, "box.hs.test", "TXT")), ["v=spf1 a -all"]);
  const imaps = find(rs, "_imaps._tcp.hs.test", "SRV")[0];
  assert.ok(imaps?.type === "SRV" && imaps.target === "box.hs.test");
});

test("the example hackspace edge publishes the box's names at the edge's IPv4 and IPv6", () => {
  const stack = stackFrom("stacks/hackspace-edge.yaml");
  const rs = planDns(stack, { addresses: { gw: { ipv4: "198.51.100.7", ipv6: "2001:db8:7::1" }, box: { ipv4: "192.168.10.25" } } });
  assert.deepEqual(values(find(rs, "box.hackspace.example", "A")), ["198.51.100.7"]);
  assert.deepEqual(values(find(rs, "box.hackspace.example", "AAAA")), ["2001:db8:7::1"]);
  assert.deepEqual(values(find(rs, "gw.hackspace.example", "AAAA")), ["2001:db8:7::1"]);
  assert.doesNotMatch(JSON.stringify(rs), /192\.168\.10\.25/);
  // No relay: the edge sends, so SPF names no one else.
  assert.deepEqual(values(find(rs, "hackspace.example", "TXT")), ["v=spf1 mx -all"]);
});

test("before the edge's addresses are known (a new Hetzner edge), the box's names get no address at all, never the box's own", () => {
  const stack = stackFrom("stacks/lab-edge.yaml");
  assert.deepEqual(publicAddresses(stack, { box: { ipv4: "10.77.1.11" } }), {});
  const rs = planDns(stack, { addresses: { box: { ipv4: "10.77.1.11" } } });
  assert.equal(rs.filter((r) => r.type === "A").length, 0);
});

test("a name the edge and the box both declare is one record; the same id with other data is an error", () => {
  const stack = stackFrom("stacks/lab-edge.yaml");
  const roles = registeredRoles() as Role[];
  // The edge as MX front declares the MX name, which the box (the mail host) serves too.
  const front: Role = {
    ...roles.find((r) => r.name === "web")!, name: "front-test" as Role["name"], after: {},
    appliesTo: (_s, host) => host === "gw",
    names: () => [{ name: "box.hs.test", why: "the MX front" }],
    records: () => [],
  };
  roles.push(front);
  try {
    const rs = planDns(stack, { addresses: LAB });
    assert.equal(find(rs, "box.hs.test", "A").length, 1);
    assert.equal(new Set(rs.map((r) => r.id)).size, rs.length, "every id once");
    front.records = () => [{ id: "a/box.hs.test", name: "box.hs.test", type: "A", value: "192.0.2.99", why: "another answer" }];
    assert.throws(() => planDns(stack, { addresses: LAB }), /two records with the id a\/box\.hs\.test: A 10\.77\.0\.14 .* and A 192\.0\.2\.99/);
  } finally {
    roles.splice(roles.indexOf(front), 1);
  }
});
