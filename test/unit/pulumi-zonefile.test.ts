// The program for a smaller pod: one Hetzner mail host whose SSH is limited to
// the admins' networks, DNS served from zone files (no Cloudflare), and a DKIM
// key migrated from `podkit apply` through config secret podkit:dkim-key.
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { loadProgram, ofType, settle, startMocks, valueOf, type Program, type Recorded } from "./pulumi-mocks";

const STACK = `pod: smallmail
domains: [example.com]
admin:
  sshKeys:
    - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm1cR0bK2p9P0Zf3Rk4s7Qz9yXw6v5u4t3s2r1q0p9o ana@home
  sshFrom: [198.51.100.0/24, "2001:db8:77::/48"]
hosts:
  mail:
    hcloud: { location: hel1 }
dns:
  zonefile: { nameservers: [ns1.example.net, ns2.example.net] }
mail:
  host: mail
accounts:
  ana@example.com:
    password: { secret: ana-password }
    aliases: [postmaster]
`;

const DKIM_PEM = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
let rec: Recorded;
let program: Program;

before(async () => {
  const file = join(mkdtempSync(join(tmpdir(), "podkit-zonefile-")), "small.yaml");
  writeFileSync(file, STACK);
  rec = await startMocks("small", { "podkit:stackFile": file, "podkit:ana-password": "pw", "podkit:dkim-key": DKIM_PEM },
    ["podkit:ana-password", "podkit:dkim-key"]);
  program = loadProgram();
  await settle(rec);
});

test("the firewall limits SSH to admin.sshFrom and opens the mail host's ports to all", () => {
  const fw = ofType(rec, "hcloud:index/firewall:Firewall");
  assert.equal(fw.length, 1);
  const rules: any[] = fw[0].inputs.rules;
  const byPort = new Map(rules.filter((r) => r.protocol !== "icmp").map((r) => [`${r.protocol}/${r.port}`, r.sourceIps]));
  // A mail-only host: no XMPP, TURN or upload ports.
  assert.deepEqual([...byPort.keys()].sort(), ["tcp/22", "tcp/25", "tcp/4190", "tcp/443", "tcp/465", "tcp/587", "tcp/80", "tcp/993"]);
  assert.deepEqual(byPort.get("tcp/22"), ["198.51.100.0/24", "2001:db8:77::/48"]);
  for (const [p, from] of byPort) if (p !== "tcp/22") assert.deepEqual(from, ["0.0.0.0/0", "::/0"], p);
});

test("zonefile DNS exports complete zone files with the new server's addresses", async () => {
  assert.equal(ofType(rec, "cloudflare:index/dnsRecord:DnsRecord").length, 0, "nothing at Cloudflare");
  assert.equal(rec.calls.length, 0, "no Cloudflare zone lookup");
  const server = ofType(rec, "hcloud:index/server:Server")[0];
  assert.ok(program.zoneFiles, "a zoneFiles output");
  const zones = await valueOf(program.zoneFiles);
  assert.deepEqual(Object.keys(zones), ["example.com"]);
  const zone = zones["example.com"];
  assert.match(zone, /^@ 3600 IN SOA ns1\.example\.net\. hostmaster\.example\.com\. \d+ /m);
  assert.match(zone, new RegExp(`^mail\\.example\\.com\\.\\s+3600 IN A\\s+${server.state.ipv4Address.replace(/\./g, "\\.")}$`, "m"));
  assert.match(zone, new RegExp(`^mail\\.example\\.com\\.\\s+3600 IN AAAA\\s+${server.state.ipv6Address}$`, "m"));
  assert.ok(!zone.includes("@@podkit"), "no placeholder left");
});

test("a DKIM key set as podkit:dkim-key is used instead of generating one", async () => {
  assert.ok(!rec.keys.has("dkim-key"), "no tls key generated for DKIM");
  assert.equal(await valueOf(pulumi.output(program.dkimKeySource)), "config");
  const zone = (await valueOf(program.zoneFiles!))["example.com"];
  const line = zone.split("\n").find((l) => l.startsWith("pod._domainkey.example.com."));
  assert.ok(line, "a DKIM record");
  const p = createPublicKey(DKIM_PEM).export({ type: "spki", format: "der" }).toString("base64");
  const text = [...line.matchAll(/"([^"]*)"/g)].map((m) => m[1]).join("");
  assert.equal(text, `v=DKIM1; k=rsa; p=${p}`);
  assert.equal(await pulumi.isSecret(program.zoneFiles!), false, "the zone files are public, though the key came from a secret");
});
