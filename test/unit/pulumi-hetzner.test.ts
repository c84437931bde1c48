// The Pulumi program (index.ts) under Pulumi's mocks, for stacks/hetzner.yaml:
// a Hetzner server with its addresses, reverse DNS and firewall, and the pod's
// DNS at Cloudflare. Resource inputs are checked as the providers would get them.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { before, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { planDns } from "../../lib/dns/plan";
import { renderZones } from "../../lib/dns/zonefile";
import { loadStackFile } from "../../lib/stack/load";
import { dkimKey } from "../../lib/infra/dkim";
import { secretFromSeed } from "../../lib/infra/generated-secrets";
import { resolveSecrets } from "../../lib/pulumi/stack";
import { HETZNER_SECRETS, loadProgram, plainLeaks, privateKeyLines, ofType, settle, startMocks, valueOf, type Program, type Recorded, type Registered } from "./pulumi-mocks";

const ROOT = resolve(__dirname, "../..");
const SECRETS = HETZNER_SECRETS;

let rec: Recorded;
let program: Program;

before(async () => {
  process.chdir(ROOT); // the default stack file is stacks/<stack name>.yaml, relative to the project
  rec = await startMocks("hetzner", { ...SECRETS, "hcloud:token": "t", "cloudflare:apiToken": "t" },
    // kim's password is set without --secret on purpose: podkit must still treat it as one.
    Object.keys(SECRETS).filter((k) => k !== "podkit:kim-password"));
  program = loadProgram();
  await settle(rec);
});

const one = (type: string): Registered => {
  const rs = ofType(rec, type);
  assert.equal(rs.length, 1, `exactly one ${type}`);
  return rs[0];
};
const primaryIp = (type: "ipv4" | "ipv6") => {
  const ips = ofType(rec, "hcloud:index/primaryIp:PrimaryIp").filter((r) => r.inputs.type === type);
  assert.equal(ips.length, 1, `exactly one ${type} primary IP`);
  return ips[0];
};

test("stacks/hetzner.yaml creates one server with both primary IPs and the firewall attached", () => {
  const server = one("hcloud:index/server:Server");
  const firewall = one("hcloud:index/firewall:Firewall");
  const v4 = primaryIp("ipv4");
  const v6 = primaryIp("ipv6");

  assert.equal(server.inputs.name, "mx.example.org");
  assert.equal(server.inputs.serverType, "cx23");
  assert.equal(server.inputs.location, "fsn1");
  assert.equal(server.inputs.image, "debian-13");
  assert.equal(server.inputs.labels.pod, "citymail");
  assert.deepEqual(server.inputs.publicNets, [{ ipv4Enabled: true, ipv4: Number(v4.id), ipv6Enabled: true, ipv6: Number(v6.id) }]);
  assert.deepEqual(server.inputs.firewallIds, [Number(firewall.id)]);

  for (const ip of [v4, v6]) {
    // assigneeType without an assigneeId is a warning on every preview; the server assigns it.
    assert.equal(ip.inputs.assigneeType, undefined);
    assert.equal(ip.inputs.autoDelete, false, "a primary IP must outlive its server");
    assert.equal(ip.inputs.location, "fsn1", "a primary IP lives in the server's location");
  }

  // Created with the generated deploy key alone (the admins' keys are the base role's
  // file, so changing them never replaces the server); the admin's key is in the project.
  const keys = ofType(rec, "hcloud:index/sshKey:SshKey");
  const deploy = keys.find((k) => k.inputs.publicKey === rec.keys.get("mx-deploy-key")!.publicKeyOpenssh.trim());
  const admin = keys.find((k) => k.inputs.publicKey.endsWith("sam@laptop"));
  assert.ok(deploy && admin, "deploy and admin SSH keys exist");
  assert.deepEqual(server.inputs.sshKeys, [deploy.id]);

  // The data volume: 20 GB in the same location, attached to this server.
  const volume = one("hcloud:index/volume:Volume");
  const attachment = one("hcloud:index/volumeAttachment:VolumeAttachment");
  assert.equal(volume.inputs.size, 20);
  assert.equal(volume.inputs.location, "fsn1");
  assert.deepEqual([attachment.inputs.volumeId, attachment.inputs.serverId], [Number(volume.id), Number(server.id)]);
});

test("root's keys on the server are the admin key and the deploy key, from the base role's file; cloud-init is given the deploy key alone", () => {
  const deploy = rec.keys.get("mx-deploy-key")!.publicKeyOpenssh.trim();
  const server = one("hcloud:index/server:Server");
  const deployKey = ofType(rec, "hcloud:index/sshKey:SshKey").find((k) => k.inputs.publicKey === deploy)!;
  // Hetzner hands the server's keys to cloud-init, which writes them to /root/.ssh/authorized_keys.
  assert.deepEqual(server.inputs.sshKeys, [deployKey.id]);
  const baseRole = ofType(rec, "pulumi-nodejs:dynamic/podkit:Role").find((r) => r.inputs.role === "base")!;
  const keys = (baseRole.inputs.state.files["/etc/ssh/authorized_keys.d/root"].content as string).split("\n").filter((l) => l && !l.startsWith("#"));
  const loaded = loadStackFile(join(ROOT, "stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  assert.deepEqual(keys, [...loaded.stack.admin.sshKeys, deploy]);
  assert.match(baseRole.inputs.state.files["/etc/ssh/sshd_config.d/podkit.conf"].content, /^AuthorizedKeysFile \/etc\/ssh\/authorized_keys\.d\/%u$/m);
});

test("the base role mounts the data volume Hetzner attached, by its device id", () => {
  const volume = one("hcloud:index/volume:Volume");
  const baseRole = ofType(rec, "pulumi-nodejs:dynamic/podkit:Role").find((r) => r.inputs.role === "base");
  assert.ok(baseRole, "a base role resource");
  const mount = baseRole.inputs.state.files["/etc/systemd/system/srv-podkit.mount"]?.content as string;
  assert.match(mount ?? "", new RegExp(`^What=${volume.state.linuxDevice}$`, "m"));
  assert.ok(baseRole.inputs.state.files["/etc/systemd/system/var-mail-vhosts.mount"], "mailboxes live on the volume");
});

test("reverse DNS is set for IPv4 and IPv6 to the host's name", () => {
  const rdns = ofType(rec, "hcloud:index/rdns:Rdns");
  const server = one("hcloud:index/server:Server");
  const v4 = primaryIp("ipv4");
  const v6 = primaryIp("ipv6");
  assert.equal(rdns.length, 2);
  const forV4 = rdns.find((r) => r.inputs.ipAddress === v4.state.ipAddress);
  const forV6 = rdns.find((r) => r.inputs.ipAddress === server.state.ipv6Address);
  assert.ok(forV4, "a PTR for the primary IPv4 address");
  assert.ok(forV6, "a PTR for the server's IPv6 address");
  assert.match(forV6.inputs.ipAddress, /::1$/);
  for (const r of [forV4, forV6]) assert.equal(r.inputs.dnsPtr, "mx.example.org");
  // Bound to the primary IPs, not the server, so a replaced server keeps its PTRs.
  assert.equal(forV4.inputs.primaryIpId, Number(v4.id));
  assert.equal(forV6.inputs.primaryIpId, Number(v6.id));
});

test("the firewall opens exactly the pod's ports, SSH limited to admin addresses when given", () => {
  const { rules } = one("hcloud:index/firewall:Firewall").inputs as { rules: any[] };
  // The pod's services on one host (mail, chat, backup): the list a reviewer checks against the roles.
  const expected = [
    "tcp/22", "tcp/80", "tcp/443", "tcp/25", "tcp/465", "tcp/587", "tcp/993", "tcp/4190",
    "tcp/5222", "tcp/5223", "tcp/5269", "tcp/5270", "tcp/5281", "tcp/3478", "udp/3478", "tcp/5349", "udp/49152-65535",
  ];
  const opened = rules.filter((r) => r.protocol !== "icmp").map((r) => `${r.protocol}/${r.port}`);
  assert.deepEqual([...opened].sort(), [...expected].sort());
  assert.ok(rules.every((r) => r.direction === "in"));
  // stacks/hetzner.yaml has no admin.sshFrom: SSH (keys only) is open to all, like everything else.
  for (const r of rules) assert.deepEqual(r.sourceIps, ["0.0.0.0/0", "::/0"], `${r.protocol}/${r.port}`);
  // (pulumi-zonefile.test.ts checks the limited case.)
});

/** A record in zone-file presentation: "name. TYPE rdata", from what Cloudflare was given. */
function cloudflareLine(r: Registered): string {
  const { name, type, content, priority, data } = r.inputs;
  let rdata: string;
  switch (type) {
    case "MX": rdata = `${priority} ${content}.`; break;
    case "SRV": rdata = `${data.priority} ${data.weight} ${data.port} ${data.target === "." ? "." : `${data.target}.`}`; break;
    case "CAA": rdata = `${data.flags} ${data.tag} "${data.value}"`; break;
    default: rdata = content;
  }
  return `${name}. ${r.inputs.ttl} ${type} ${rdata}`;
}

test("Cloudflare receives the same record set as the zone file", async () => {
  const loaded = loadStackFile(join(ROOT, "stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  const server = one("hcloud:index/server:Server");
  const dkimPem = rec.keys.get("dkim-key")!.privateKeyPem;
  const dkimP = createPublicKey(dkimPem).export({ type: "spki", format: "der" }).toString("base64");
  const zones = renderZones(loaded.stack, planDns(loaded.stack, {
    addresses: { mx: { ipv4: primaryIp("ipv4").state.ipAddress, ipv6: server.state.ipv6Address } },
    dkimPublicKey: dkimP,
  }));
  const zoneLines = zones.flatMap((z) => z.text.split("\n"))
    .filter((l) => l && !l.startsWith(";") && !l.startsWith("$"))
    .map((l) => l.replace(/^(\S+)\s+(\d+) IN (\S+)\s+/, "$1 $2 $3 "))
    // Null SRV records ("no POP3") stay out of Cloudflare, which keeps no "." target.
    .filter((l) => !/\sSRV\s+0\s+0\s+0\s+\.$/.test(l));
  assert.ok(zones.some((z) => /\sSRV\s+0\s+0\s+0\s+\.$/m.test(z.text)), "the zone file has null SRV records");
  const cf = ofType(rec, "cloudflare:index/dnsRecord:DnsRecord");
  assert.ok(zoneLines.length > 30, "the zone file holds the whole plan");
  assert.deepEqual(cf.map(cloudflareLine).sort(), [...zoneLines].sort());

  for (const r of cf) {
    assert.equal(r.inputs.proxied, false, `${r.inputs.name} ${r.inputs.type} is not proxied`);
    assert.ok(!r.inputs.name.endsWith("."), "full names without the trailing dot");
  }
  // Zones looked up by name (no zone ids in the stack file), each record in its own zone.
  assert.deepEqual([...rec.zoneIds.keys()].sort(), ["example.net", "example.org"]);
  for (const r of cf) {
    const zone = r.inputs.name === "example.net" || r.inputs.name.endsWith(".example.net") ? "example.net" : "example.org";
    assert.equal(r.inputs.zoneId, rec.zoneIds.get(zone), `${r.inputs.name} is in zone ${zone}`);
  }
  // The addresses published are the server's.
  const aRecords = cf.filter((r) => r.inputs.type === "A").map((r) => r.inputs.content);
  assert.ok(aRecords.length > 0 && aRecords.every((a) => a === server.state.ipv4Address));
  const outputs = await valueOf(pulumi.output(program.addresses));
  assert.deepEqual(outputs, { mx: { ipv4: server.state.ipv4Address, ipv6: server.state.ipv6Address } });
});

test("DKIM TXT content is split into 255-byte strings", () => {
  const dkim = ofType(rec, "cloudflare:index/dnsRecord:DnsRecord").filter((r) => r.inputs.name.startsWith("pod._domainkey."));
  assert.deepEqual(dkim.map((r) => r.inputs.name).sort(), ["pod._domainkey.example.net", "pod._domainkey.example.org"]);
  const p = createPublicKey(rec.keys.get("dkim-key")!.privateKeyPem).export({ type: "spki", format: "der" }).toString("base64");
  for (const r of dkim) {
    const content: string = r.inputs.content;
    assert.match(content, /^"[^"]*"( "[^"]*")+$/, "several quoted strings");
    const strings = [...content.matchAll(/"([^"]*)"/g)].map((m) => m[1]);
    assert.ok(strings.every((s) => Buffer.byteLength(s) <= 255), "each at most 255 bytes");
    assert.equal(strings[0].length, 255, "split at 255, not earlier");
    assert.equal(strings.join(""), `v=DKIM1; k=rsa; p=${p}`);
  }
});

test("the pinned host key is the one cloud-init installs, with the fingerprint ssh-keygen prints and a known_hosts entry for admins", async () => {
  const server = one("hcloud:index/server:Server");
  const hostKey = rec.keys.get("mx-host-key")!;
  assert.match(server.inputs.userData, /^#cloud-config\n/);
  const userData = parse(server.inputs.userData);
  assert.equal(userData.ssh_keys.ed25519_public, hostKey.publicKeyOpenssh.trim());
  assert.equal(userData.ssh_keys.ed25519_private, hostKey.privateKeyOpenssh);
  assert.equal(userData.ssh_deletekeys, true, "the image's own host keys are removed");
  // Given ssh_keys, cloud-init generates no key; the list only names the type there is (never empty: the schema refuses that).
  assert.deepEqual(userData.ssh_genkeytypes, ["ed25519"]);
  assert.deepEqual(Object.keys(userData.ssh_keys).sort(), ["ed25519_private", "ed25519_public"], "no other host key is handed over");
  assert.deepEqual([userData.hostname, userData.fqdn], ["mx", "mx.example.org"]);
  // Root's keys reach cloud-init only as the server's Hetzner keys (the deploy key alone): none in the user data.
  assert.equal(userData.ssh_authorized_keys, undefined);
  // That key logs in as root whatever the image's cloud.cfg says (cloud-init's default would refuse it).
  assert.equal(userData.disable_root, false);
  assert.equal(userData.manage_etc_hosts, "localhost", "the FQDN resolves on the host from the first boot, and the base role owns /etc/hosts after it");
  assert.equal(userData.users, undefined);

  const dir = mkdtempSync(join(tmpdir(), "podkit-hostkey-"));
  writeFileSync(join(dir, "key.pub"), hostKey.publicKeyOpenssh);
  const printed = execFileSync("ssh-keygen", ["-lf", join(dir, "key.pub")], { encoding: "utf8" }).split(" ")[1];
  assert.equal(await valueOf(program.hostKeys.mx), printed);
  const host = await valueOf(pulumi.output(program.hosts.mx));
  assert.equal(host.hostKeyFingerprint, printed);
  assert.deepEqual([host.address, host.port, host.user], [server.state.ipv4Address, 22, "root"]);

  // known_hosts for the admins' own ssh: ssh-keygen finds the pinned key under the name and both addresses.
  writeFileSync(join(dir, "known_hosts"), await valueOf(program.knownHosts));
  for (const name of ["mx.example.org", server.state.ipv4Address, server.state.ipv6Address]) {
    const found = execFileSync("ssh-keygen", ["-F", name, "-f", join(dir, "known_hosts")], { encoding: "utf8" });
    assert.ok(found.includes(hostKey.publicKeyOpenssh.trim().split(" ")[1]), `${name} is pinned to the host key`);
  }
});

test("every resource the program makes sits under a component, and those moved under one keep their old URN through an alias", () => {
  const topLevel = rec.resources.filter((r) => r.custom && !r.parent);
  assert.deepEqual(topLevel.map((r) => `${r.type} ${r.name}`), [], "no custom resource at the top of the program");
  // Moved under a component after stacks had them at the top: the alias keeps them from being replaced.
  const moved = rec.resources.filter((r) => r.aliasedFromTop);
  const expected = rec.resources.filter((r) =>
    r.name === "dkim-key" || r.type === "hcloud:index/sshKey:SshKey" && r.name.startsWith("admin-") || r.type === "pulumi-nodejs:dynamic/podkit:Role");
  assert.ok(expected.length >= 5, `the DKIM key, an admin key and the roles: ${expected.map((r) => r.name)}`);
  assert.deepEqual(moved.map((r) => r.name).sort(), expected.map((r) => r.name).sort());
  for (const r of moved) assert.match(r.parent, /::podkit:(mail:DkimKey|infra:AdminSshKeys|roles:HostRoles)::/, `${r.name} under its component`);
});

test("passwords, the relay password, the backup passphrase, userData and private keys are Pulumi secrets", async () => {
  const server = one("hcloud:index/server:Server");
  assert.ok(server.secretInputs.has("userData"), "userData (it holds the host's private key) is a secret input");
  assert.equal(parse(server.inputs.userData).ssh_keys.ed25519_private, rec.keys.get("mx-host-key")!.privateKeyOpenssh);
  // Nothing else that reaches a provider carries a private key, a password or a generated
  // secret in clear: every value searched as it is, whatever its length or characters.
  const keys = [...rec.keys.values()].flatMap((k) => [k.privateKeyOpenssh, k.privateKeyPem, k.privateKeyPemPkcs8].flatMap(privateKeyLines));
  const generated = [...rec.keys].filter(([name]) => name.endsWith("-seed")).map(([name, k]) => secretFromSeed(name.replace(/-seed$/, ""), k.privateKeyPem));
  assert.equal(generated.length, 2, "the password salt key and the TURN secret");
  assert.deepEqual(plainLeaks(rec.resources, [...keys, ...Object.values(SECRETS), ...generated]), []);

  assert.equal(await pulumi.isSecret(program.hosts.mx.deployPrivateKey), true, "the deploy key is a secret output");
  assert.equal(await valueOf(program.hosts.mx.deployPrivateKey), rec.keys.get("mx-deploy-key")!.privateKeyOpenssh);

  // The secrets the program resolved from config: each a secret, even one set as plain config.
  
  const loaded = loadStackFile(join(ROOT, "stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  const secrets = resolveSecrets(loaded.stack, loaded.source, new pulumi.Config("podkit"));
  assert.deepEqual(Object.keys(secrets).sort(), ["backup-passphrase", "kim-password", "noor-password", "relay-password", "sam-password"]);
  for (const [name, out] of Object.entries(secrets)) {
    assert.equal(await pulumi.isSecret(out), true, `${name} is a Pulumi secret`);
    assert.equal(await valueOf(out), SECRETS[`podkit:${name}`]);
  }
  // The DKIM private key, which the mail role will install.
  
  const dkim = dkimKey(new pulumi.Config("podkit"));
  assert.equal(await pulumi.isSecret(dkim.privateKeyPem), true, "the DKIM private key is a secret");
  assert.equal(await pulumi.isSecret(dkim.publicKey), false, "its public half is not (DNS shows it)");
});
