// The pure pieces under the Pulumi program: ports per host (shared with the
// base role's nftables), host key pins, placeholders, Cloudflare resource names.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { recordResourceName } from "../../lib/dns/cloudflare";
import { firewallRules } from "../../lib/infra/hcloud";
import { planDns } from "../../lib/dns/plan";
import { fingerprint, parsePin } from "../../lib/ssh/keys";
import { Placeholders, substitute } from "../../lib/pulumi/placeholders";
import { parseStack } from "../../lib/stack/load";
import { podPorts, portSpec } from "../../lib/stack/ports";
import type { Stack } from "../../lib/stack/schema";

const ROOT = resolve(__dirname, "../..");
const stackOf = (file: string, edit: (text: string) => string = (t) => t): Stack => {
  const loaded = parseStack(edit(readFileSync(join(ROOT, file), "utf8")), file);
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.problems.map((p) => p.message).join("; "));
  return loaded.stack;
};
const specs = (stack: Stack, host: string) => podPorts(stack, host).map((p) => `${p.protocol}/${portSpec(p)}`).sort();

test("each host opens only its roles' ports: the chat host no mail ports, the mail host no chat ports", () => {
  // stacks/hetzner.yaml with chat moved to a second host.
  const stack = stackOf("stacks/hetzner.yaml", (t) => t
    .replace("hosts:\n", "hosts:\n  xmpp:\n    hcloud: { location: fsn1 }\n")
    .replace("chat:\n  host: mx", "chat:\n  host: xmpp"));
  assert.deepEqual(specs(stack, "mx"), ["tcp/22", "tcp/25", "tcp/4190", "tcp/443", "tcp/465", "tcp/587", "tcp/80", "tcp/993"]);
  assert.deepEqual(specs(stack, "xmpp"), [
    "tcp/22", "tcp/3478", "tcp/5222", "tcp/5223", "tcp/5269", "tcp/5270", "tcp/5281", "tcp/5349", "tcp/80", "udp/3478", "udp/49152-65535",
  ]);
});

test("SSH is limited to admin.sshFrom on existing hosts too, and nothing else is", () => {
  const stack = stackOf("stacks/hackspace.yaml");
  const ports = podPorts(stack, "box");
  assert.deepEqual(ports.filter((p) => p.from).map((p) => `${p.service}:${p.from!.join(",")}`), ["ssh:198.51.100.0/24"]);
  assert.ok(ports.every((p) => p.why.length > 10), "every port says why it is open");
});

test("a host key pin is the SHA256 fingerprint ssh-keygen prints, for ed25519 and RSA keys", () => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-ssh-"));
  for (const type of ["ed25519", "rsa"]) {
    const key = join(dir, type);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "test comment", "-f", key]);
    const printed = execFileSync("ssh-keygen", ["-lf", `${key}.pub`], { encoding: "utf8" }).split(" ")[1];
    const line = readFileSync(`${key}.pub`, "utf8");
    assert.equal(fingerprint(line), printed, type);
    assert.equal(parsePin(line.trim()).fingerprint, printed, type);
    assert.equal(parsePin(printed).fingerprint, printed, "a fingerprint pins as it is");
  }
  assert.throws(() => fingerprint("not a key"), /not an OpenSSH public key/);
});

test("placeholders are replaced everywhere, and a leftover one is an error, not a record", () => {
  const values = { "@@podkit:mx:ipv4@@": "203.0.113.7", "@@podkit:dkim@@": "MIIB" };
  assert.deepEqual(
    substitute({ a: ["@@podkit:mx:ipv4@@"], b: "p=@@podkit:dkim@@;", n: 3 }, values),
    { a: ["203.0.113.7"], b: "p=MIIB;", n: 3 });
  assert.throws(() => substitute({ a: "@@podkit:mx:ipv6@@" }, values), /no value for placeholder @@podkit:mx:ipv6@@/);
  const ph = new Placeholders();
  ph.add("mx:ipv4", "x");
  assert.throws(() => ph.add("mx:ipv4", "y"), /defined twice/);
  assert.throws(() => ph.resolve("@@podkit:other@@"), /no value for placeholder/);
});

test("a record depends only on the values it uses: a secret DKIM key does not make an A record secret", async () => {
  await pulumi.runtime.setMocks({ newResource: () => ({ id: "1", state: {} }), call: () => ({}) });
  const ph = new Placeholders();
  const ip = ph.add("mx:ipv4", pulumi.output("203.0.113.7"));
  const dkim = ph.add("dkim", pulumi.secret("MIIB"));
  const a = ph.resolve({ type: "A", value: ip });
  const txt = ph.resolve({ type: "TXT", value: `p=${dkim}` });
  assert.equal(await pulumi.isSecret(a), false);
  assert.equal(await pulumi.isSecret(txt), true, "the one that uses a secret value is secret (the program unsecrets the public key)");
  assert.deepEqual(await new Promise((r) => a.apply(r)), { type: "A", value: "203.0.113.7" });
});

test("Cloudflare resource names come from record ids: unique, and adding a domain renames no record", () => {
  const facts = { addresses: { mx: { ipv4: "203.0.113.7", ipv6: "2001:db8::1" } }, dkimPublicKey: "MIIB" };
  const two = planDns(stackOf("stacks/hetzner.yaml"), facts).map((r) => recordResourceName(r.id));
  const three = planDns(stackOf("stacks/hetzner.yaml", (t) => t.replace("  - example.net\n", "  - example.net\n  - example.com\n")), facts)
    .map((r) => recordResourceName(r.id));
  assert.equal(new Set(two).size, two.length, "no two records share a name");
  assert.ok(three.length > two.length);
  assert.deepEqual(two.filter((n) => !three.includes(n)), [], "every existing record keeps its name");
  assert.ok(two.every((n) => /^[A-Za-z0-9._-]+$/.test(n)));
});

test("a single admin address reaches Hetzner's firewall as its /32 or /128 network, which Hetzner requires", () => {
  const stack = stackOf("stacks/hetzner.yaml", (t) => t.replace("admin:\n", 'admin:\n  sshFrom: [198.51.100.7, "2001:db8::7", 192.0.2.0/24]\n'));
  const ssh = firewallRules(podPorts(stack, "mx")).find((r) => r.port === "22")!;
  assert.deepEqual(ssh.sourceIps, ["198.51.100.7/32", "2001:db8::7/128", "192.0.2.0/24"]);
});
