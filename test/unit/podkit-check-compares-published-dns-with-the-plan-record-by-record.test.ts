// `podkit check` compares what the zone's servers publish with the DNS plan,
// record by record: missing, different, and the extras that change what
// receivers do (a second SPF record, a stray MX), each with the zone line
// that fixes it. Pure: the answers are given, no network.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { compareRecords, plannedData, rrKey, type Observed } from "../../lib/check/dns-compare";
import { caaIdentity, dkimP } from "../../lib/check/dns";
import { planDns } from "../../lib/dns/plan";
import type { DnsRecord } from "../../lib/dns/records";
import { loadStackFile } from "../../lib/stack/load";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const plan = planDns(stack, { addresses: { mx: { ipv4: "10.77.0.11" } }, dkimPublicKey: "MIIBkey" });
const HOW = "in the zone file";

/** What a zone that publishes exactly the plan answers. */
function published(records: DnsRecord[] = plan): Observed {
  const o: Observed = new Map();
  for (const r of records) {
    const k = rrKey(r.name, r.type);
    o.set(k, [...((o.get(k) as string[] | undefined) ?? []), plannedData(r)]);
  }
  return o;
}
const find = (pred: (r: DnsRecord) => boolean) => {
  const r = plan.find(pred);
  assert.ok(r);
  return r;
};
const statuses = (results: ReturnType<typeof compareRecords>) => results.filter((r) => r.status !== "ok");

test("a zone that publishes exactly the plan is ok record by record, one line per planned record", () => {
  const results = compareRecords(plan, published(), HOW);
  assert.deepEqual(statuses(results), []);
  assert.equal(results.length, plan.length);
});

test("a record removed from the zone is missing: a fail for the MX, with the zone line that puts it back", () => {
  const mx = find((r) => r.type === "MX");
  const o = published();
  o.set(rrKey(mx.name, "MX"), []);
  const [bad, ...rest] = statuses(compareRecords(plan, o, HOW));
  assert.deepEqual(rest, []);
  assert.equal(bad.status, "fail");
  assert.equal(bad.id, `dns/${mx.id}`);
  assert.match(bad.summary, /a\.test MX 10 mx\.a\.test\. is missing/);
  assert.match(bad.meaning!, /mail for a\.test is not delivered/);
  assert.equal(bad.fix, `publish in the zone file: a.test. 300 IN MX 10 mx.a.test.`);
});

test("a second SPF record at the domain fails as a second SPF record; other TXT records there are not the pod's business", () => {
  const o = published();
  const k = rrKey("a.test", "TXT");
  o.set(k, [...(o.get(k) as string[]), "v=spf1 include:_spf.example.net ~all", "google-site-verification=abc"]);
  const bad = statuses(compareRecords(plan, o, HOW));
  assert.equal(bad.length, 1);
  assert.equal(bad[0].status, "fail");
  assert.match(bad[0].summary, /a\.test has a second SPF record: v=spf1 include:_spf\.example\.net ~all/);
  assert.match(bad[0].meaning!, /permerror/);
  assert.match(bad[0].fix!, /^remove in the zone file: a\.test\. IN TXT "v=spf1 include:_spf\.example\.net ~all"$/);
});

test("a stray MX fails: senders would deliver part of the mail elsewhere", () => {
  const o = published();
  o.set(rrKey("a.test", "MX"), ["10 mx.a.test.", "20 backup-mx.example.net."]);
  const bad = statuses(compareRecords(plan, o, HOW));
  assert.equal(bad.length, 1);
  assert.match(bad[0].summary, /MX the plan does not: 20 backup-mx\.example\.net\./);
  assert.equal(bad[0].status, "fail");
});

test("a changed DKIM record is one 'different' failure naming both keys, fixed by replacing the record", () => {
  const dkim = find((r) => r.type === "TXT" && r.name.includes("._domainkey."));
  const o = published();
  o.set(rrKey(dkim.name, "TXT"), ["v=DKIM1; k=rsa; p=MIIBother"]);
  const bad = statuses(compareRecords(plan, o, HOW));
  assert.equal(bad.length, 1);
  assert.equal(bad[0].status, "fail");
  assert.match(bad[0].summary, /pod\._domainkey\.a\.test TXT is different: published v=DKIM1; k=rsa; p=MIIBother, planned "v=DKIM1; k=rsa; p=MIIBkey"/);
  assert.match(bad[0].meaning!, /DKIM/);
  assert.match(bad[0].fix!, /^replace the record in the zone file: pod\._domainkey\.a\.test\. 300 IN TXT "v=DKIM1; k=rsa; p=MIIBkey"$/);
});

test("missing DMARC fails, missing TLS-RPT and client SRV records warn", () => {
  const o = published();
  o.set(rrKey("_dmarc.a.test", "TXT"), []);
  o.set(rrKey("_smtp._tls.a.test", "TXT"), []);
  o.set(rrKey("_imaps._tcp.a.test", "SRV"), []);
  const bad = statuses(compareRecords(plan, o, HOW));
  const by = (name: string) => bad.find((r) => r.summary.startsWith(name))!;
  assert.equal(by("_dmarc.a.test").status, "fail");
  assert.equal(by("_smtp._tls.a.test").status, "warn");
  assert.equal(by("_imaps._tcp.a.test").status, "warn");
});

test("a name the zone's servers could not be asked about fails, saying so, not as missing", () => {
  const o = published();
  o.set(rrKey("a.test", "MX"), new Error("queryMx ETIMEOUT a.test"));
  const bad = statuses(compareRecords(plan, o, HOW));
  assert.equal(bad.length, 1);
  assert.match(bad[0].summary, /could not ask the zone's servers \(queryMx ETIMEOUT a\.test\)/);
});

test("the DKIM key is read from p=, and the CA in use is known by its CAA name", () => {
  assert.equal(dkimP("v=DKIM1; k=rsa; p=MIIB AAA"), "MIIBAAA");
  assert.equal(dkimP("v=DKIM1; k=rsa"), undefined);
  assert.equal(caaIdentity("https://acme-v02.api.letsencrypt.org/directory"), "letsencrypt.org");
  assert.equal(caaIdentity("https://acme.zerossl.com/v2/DV90"), "sectigo.com");
  assert.equal(caaIdentity("https://acme.lab.test:14000/dir"), undefined);
});
