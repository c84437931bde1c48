// The DNS plan: every record a pod needs, in the right zone, once.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { planDns } from "../../lib/dns/plan";
import { quotedTxt, txtChunks, type DnsRecord } from "../../lib/dns/records";
import { renderZones } from "../../lib/dns/zonefile";
import { parseStack } from "../../lib/stack/load";
import type { Stack } from "../../lib/stack/schema";
import { dkimPublicKey } from "../../lib/stack/secrets";

const DKIM = dkimPublicKey(generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString());
const ADDR = { box: { ipv4: "203.0.113.25", ipv6: "2001:db8:25::25" } };

function stackFrom(file: string, patch: (text: string) => string = (t) => t): Stack {
  const r = parseStack(patch(readFileSync(file, "utf8")), file);
  if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("\n"));
  return r.stack;
}
const hackspace = () => stackFrom("stacks/hackspace.yaml");
const find = (rs: DnsRecord[], name: string, type: string) => rs.filter((r) => r.name === name && r.type === type);

test("mail domains get MX, SPF naming the relay, DKIM, DMARC, MTA-STS and TLS-RPT", () => {
  const rs = planDns(hackspace(), { addresses: ADDR, dkimPublicKey: DKIM });
  for (const d of ["hackspace.example", "members.hackspace.example"]) {
    assert.deepEqual(find(rs, d, "MX").map((r) => r.type === "MX" && [r.priority, r.value]), [[10, "box.hackspace.example"]]);
    assert.deepEqual(find(rs, d, "TXT").map((r) => r.type === "TXT" && r.value), ["v=spf1 mx include:_spf.isp.example -all"]);
    const dkim = find(rs, `pod._domainkey.${d}`, "TXT")[0];
    assert.ok(dkim?.type === "TXT" && dkim.value === `v=DKIM1; k=rsa; p=${DKIM}`);
    assert.match((find(rs, `_dmarc.${d}`, "TXT")[0] as { value: string }).value, /^v=DMARC1; p=quarantine; rua=mailto:postmaster@hackspace\.example/);
    assert.match((find(rs, `_mta-sts.${d}`, "TXT")[0] as { value: string }).value, /^v=STSv1; id=[0-9a-f]{20}$/);
    assert.equal((find(rs, `_smtp._tls.${d}`, "TXT")[0] as { value: string }).value, "v=TLSRPTv1; rua=mailto:postmaster@hackspace.example");
    assert.equal(find(rs, `mta-sts.${d}`, "A").length, 1);
  }
});

test("a DKIM key longer than 255 bytes is split into character-strings that join back to it", () => {
  const text = `v=DKIM1; k=rsa; p=${DKIM}`;
  const chunks = txtChunks(text);
  assert.ok(text.length > 255 && chunks.length === 2);
  assert.ok(chunks.every((c) => Buffer.byteLength(c) <= 255));
  assert.equal(chunks.join(""), text);
  assert.equal(quotedTxt(text), `"${chunks[0]}" "${chunks[1]}"`);
});

test("the MTA-STS id changes when the policy changes, and only then", () => {
  const id = (s: Stack) => (find(planDns(s, { addresses: ADDR }), "_mta-sts.hackspace.example", "TXT")[0] as { value: string }).value;
  const base = id(hackspace());
  assert.equal(id(hackspace()), base);
  assert.notEqual(id(stackFrom("stacks/hackspace.yaml", (t) => t.replace("dmarc: { policy: quarantine }", "mtaSts: { mode: testing }"))), base);
  assert.equal(id(stackFrom("stacks/hackspace.yaml", (t) => t.replace("archiveDays: 14", "archiveDays: 15"))), base);
});

test("mail clients and XMPP clients and servers find the pod through SRV records", () => {
  const rs = planDns(hackspace(), { addresses: ADDR });
  const srv = (name: string) => find(rs, name, "SRV").map((r) => r.type === "SRV" && `${r.port} ${r.target}`);
  const d = "hackspace.example";
  assert.deepEqual(srv(`_submission._tcp.${d}`), ["587 box.hackspace.example"]);
  assert.deepEqual(srv(`_submissions._tcp.${d}`), ["465 box.hackspace.example"]);
  assert.deepEqual(srv(`_imaps._tcp.${d}`), ["993 box.hackspace.example"]);
  assert.deepEqual(srv(`_imap._tcp.${d}`), ["0 ."]);
  assert.deepEqual(srv(`_xmpp-client._tcp.${d}`), ["5222 box.hackspace.example"]);
  assert.deepEqual(srv(`_xmpps-client._tcp.${d}`), ["5223 box.hackspace.example"]);
  assert.deepEqual(srv(`_xmpp-server._tcp.${d}`), ["5269 box.hackspace.example"]);
  assert.deepEqual(srv(`_xmpps-server._tcp.${d}`), ["5270 box.hackspace.example"]);
  assert.deepEqual(srv(`_xmpp-server._tcp.conference.${d}`), ["5269 box.hackspace.example"]);
  assert.equal(find(rs, `upload.${d}`, "AAAA").length, 1);
});

test("CAA allows only the configured CAs and no wildcards; an empty list publishes none", () => {
  const rs = planDns(hackspace(), { addresses: ADDR }).filter((r) => r.type === "CAA" && r.name === "hackspace.example");
  assert.deepEqual(rs.map((r) => r.type === "CAA" && `${r.tag} ${r.value}`).sort(),
    ["iodef mailto:postmaster@hackspace.example", "issue letsencrypt.org", "issuewild ;"]);
  const none = planDns(stackFrom("stacks/hackspace.yaml", (t) => t.replace("dns:\n", "tls: { caa: [] }\ndns:\n")), { addresses: ADDR });
  assert.equal(none.filter((r) => r.type === "CAA").length, 0);
});

test("a domain under another mail domain lives in its zone, and every record has one identity", () => {
  const rs = planDns(hackspace(), { addresses: ADDR, dkimPublicKey: DKIM });
  assert.deepEqual([...new Set(rs.map((r) => r.zone))], ["hackspace.example"]);
  const ids = rs.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
});

test("without a relay SPF names only the pod; without chat there are no XMPP records", () => {
  const s = stackFrom("stacks/hackspace.yaml", (t) => t.replace(/  relay:\n(    .*\n)+/, "").replace(/chat:\n  host: box\n  archiveDays: 14\n/, ""));
  const rs = planDns(s, { addresses: ADDR });
  assert.equal((find(rs, "hackspace.example", "TXT")[0] as { value: string }).value, "v=spf1 mx -all");
  assert.equal(rs.filter((r) => r.name.includes("xmpp")).length, 0);
  assert.equal(find(rs, "conference.hackspace.example", "A").length, 0);
});

test("a DMARC report address on another domain gets the authorisation record RFC 7489 asks for", () => {
  const s = stackFrom("stacks/hetzner.yaml");
  const rs = planDns(s, { addresses: { mx: { ipv4: "203.0.113.7" } } });
  assert.equal(find(rs, "example.net._report._dmarc.example.org", "TXT").length, 1);
  assert.equal(find(rs, "example.org._report._dmarc.example.org", "TXT").length, 0);
});

test("the zone file holds SOA, NS and every planned record once", () => {
  const s = hackspace();
  const rs = planDns(s, { addresses: ADDR, dkimPublicKey: DKIM });
  const [z] = renderZones(s, rs, { serial: 7 });
  assert.match(z.text, /^@ 3600 IN SOA ns1\.example\.net\. hostmaster\.hackspace\.example\. 7 /m);
  assert.equal(z.text.match(/ IN NS /g)?.length, 2);
  const lines = z.text.split("\n").filter((l) => / IN (A|AAAA|MX|TXT|SRV|CAA) /.test(l));
  assert.equal(lines.length, rs.length);
});
