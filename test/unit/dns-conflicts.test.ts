// Which records already in a zone conflict with the pod's plan, and which do not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { txtText, zoneConflicts, type ZoneRecord } from "../../lib/dns/conflicts";
import type { DnsRecord } from "../../lib/dns/records";

const base = { zone: "example.org", ttl: 300, why: "" };
const PLAN: DnsRecord[] = [
  { ...base, id: "a/mx.example.org", name: "mx.example.org", type: "A", value: "203.0.113.10" },
  { ...base, id: "mx/example.org", name: "example.org", type: "MX", priority: 10, value: "mx.example.org" },
  { ...base, id: "txt/example.org", name: "example.org", type: "TXT", value: "v=spf1 mx -all" },
  { ...base, id: "txt/pod._domainkey.example.org", name: "pod._domainkey.example.org", type: "TXT", value: "v=DKIM1; k=rsa; p=AAAA" },
  { ...base, zone: "example.net", id: "mx/example.net", name: "example.net", type: "MX", priority: 10, value: "mx.example.org" },
];
const names = (records: ZoneRecord[]) => zoneConflicts("example.org", PLAN, records).map((c) => `${c.record.name} ${c.record.type}`);

test("an identical record not made by podkit is a conflict (Cloudflare refuses a duplicate); the same made by podkit is not", () => {
  const same: ZoneRecord = { name: "mx.example.org", type: "A", content: "203.0.113.10" };
  const [c] = zoneConflicts("example.org", PLAN, [same]);
  assert.match(c.problem, /Cloudflare refuses to create it again/);
  assert.deepEqual(names([{ ...same, comment: "podkit: host mx" }]), []);
});

test("another address, another DKIM key under the selector, and names in upper case are found", () => {
  assert.deepEqual(names([
    { name: "MX.example.org", type: "A", content: "198.51.100.9" },
    { name: "pod._domainkey.example.org", type: "TXT", content: '"v=DKIM1; k=rsa; p=BBBB"' },
  ]), ["MX.example.org A", "pod._domainkey.example.org TXT"]);
});

test("records on names the pod does not use, other TXT kinds, and other zones' names are left alone", () => {
  assert.deepEqual(names([
    { name: "www.example.org", type: "CNAME", content: "example.github.io" },
    { name: "example.org", type: "TXT", content: '"google-site-verification=x"' },
    { name: "example.org", type: "CAA", content: '0 issue "pki.goog"' },
    { name: "example.net", type: "MX", content: "old.example.net" },
  ]), []);
});

test("Cloudflare's quoted, split TXT content reads as one text", () => {
  assert.equal(txtText('"v=DKIM1; k=rsa; p=AB" "CD"'), "v=DKIM1; k=rsa; p=ABCD");
  assert.equal(txtText("v=spf1 -all"), "v=spf1 -all");
});
