// `podkit zone` output loaded by real zone checkers (knot's kzonecheck and
// BIND's named-checkzone), as an operator would before loading it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = `${__dirname}/../..`;
const tmp = mkdtempSync(join(tmpdir(), "podkit-zone-"));
const secrets = join(tmp, "hackspace.secrets.yaml");

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const zone = run(process.execPath, ["bin/podkit.js", "zone", "stacks/hackspace.yaml", "--secrets", secrets]);
const zoneFile = join(tmp, "hackspace.example.zone");
writeFileSync(zoneFile, zone.out);

test("podkit zone prints a zone and creates the DKIM key, private to root", () => {
  assert.equal(zone.code, 0, zone.err);
  assert.match(zone.err, /created dkim-key(, [a-z-]+)* in .*hackspace\.secrets\.yaml/);
  assert.equal(statSync(secrets).mode & 0o777, 0o600);
  assert.match(readFileSync(secrets, "utf8"), /dkim-key: \|\n\s+-----BEGIN PRIVATE KEY-----/);
});

test("the zone passes kzonecheck", () => {
  const r = run("kzonecheck", ["-o", "hackspace.example", zoneFile]);
  assert.equal(r.code, 0, r.out + r.err);
});

test("the zone passes named-checkzone", () => {
  const r = run("named-checkzone", ["hackspace.example", zoneFile]);
  assert.equal(r.code, 0, r.out + r.err);
  assert.match(r.out, /OK/);
});

test("named-checkzone reads back MX, SPF, split DKIM, DMARC, MTA-STS, TLS-RPT, CAA and the SRV records", () => {
  // named-compilezone canonicalises the zone: what a DNS server would serve.
  const r = run("named-compilezone", ["-q", "-o", "-", "hackspace.example", zoneFile]);
  assert.equal(r.code, 0, r.err);
  const has = (re: RegExp) => assert.match(r.out, re);
  has(/^hackspace\.example\.\s+\d+\s+IN\s+MX\s+10 box\.hackspace\.example\.$/m);
  has(/^hackspace\.example\.\s+\d+\s+IN\s+TXT\s+"v=spf1 mx include:_spf\.isp\.example -all"$/m);
  has(/^pod\._domainkey\.hackspace\.example\.\s+\d+\s+IN\s+TXT\s+"v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{200,}" "[A-Za-z0-9+/=]+"$/m);
  has(/^_dmarc\.hackspace\.example\.\s+\d+\s+IN\s+TXT\s+"v=DMARC1; p=quarantine; rua=mailto:postmaster@hackspace\.example/m);
  has(/^_mta-sts\.hackspace\.example\.\s+\d+\s+IN\s+TXT\s+"v=STSv1; id=[0-9a-f]+"$/m);
  has(/^_smtp\._tls\.hackspace\.example\.\s+\d+\s+IN\s+TXT\s+"v=TLSRPTv1; rua=mailto:/m);
  has(/^hackspace\.example\.\s+\d+\s+IN\s+CAA\s+0 issue "letsencrypt\.org"$/m);
  for (const [srv, port] of [["_submission", 587], ["_submissions", 465], ["_imaps", 993], ["_xmpp-client", 5222], ["_xmpps-client", 5223], ["_xmpp-server", 5269], ["_xmpps-server", 5270]]) {
    has(new RegExp(`^${srv}\\._tcp\\.hackspace\\.example\\.\\s+\\d+\\s+IN\\s+SRV\\s+0 \\d ${port} box\\.hackspace\\.example\\.$`, "m"));
  }
  has(/^_xmpp-server\._tcp\.members\.hackspace\.example\.\s+\d+\s+IN\s+SRV\s+0 5 5269 box\.hackspace\.example\.$/m);
});

test("a second run keeps the DKIM key: the published record does not change", () => {
  const again = run(process.execPath, ["bin/podkit.js", "zone", "stacks/hackspace.yaml", "--secrets", secrets]);
  assert.equal(again.code, 0);
  assert.doesNotMatch(again.err, /created/);
  const dkim = (t: string) => t.match(/^pod\._domainkey\.hackspace\.example\..*$/m)?.[0];
  assert.ok(dkim(zone.out));
  assert.equal(dkim(again.out), dkim(zone.out));
});

test("a stack with Hetzner hosts is refused with where to get the zone instead", () => {
  const r = run(process.execPath, ["bin/podkit.js", "zone", "stacks/hetzner.yaml", "--secrets", join(tmp, "h.yaml")]);
  assert.equal(r.code, 65);
  assert.ok(!existsSync(join(tmp, "h.yaml")), "no key is generated for a stack that was refused");
  assert.match(r.err, /^stacks\/hetzner\.yaml:17:5 hosts\.mx\.hcloud: this host is created by `pulumi up`/m);
});
