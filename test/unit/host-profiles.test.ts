// Hosts differ to the roles only through their profile: facts about the machine,
// given by the adapter of each kind of host (Hetzner, existing, the lab).
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { EXISTING_PROFILE, existingProvider } from "../../lib/infra/existing-provider";
import { HCLOUD_PROFILE, hcloudProvider, releaseOfImage } from "../../lib/infra/hcloud-provider";
import { LAB } from "../../lib/lab/config";
import { labProfile, labProvider } from "../../lib/lab/provider";
import { loadStackFile } from "../../lib/stack/load";
import { loadPod, StackError } from "../../lib/stack/pod";
import type { HostProfile } from "../../lib/stack/profile";
import type { Stack } from "../../lib/stack/schema";
import { roleNamed } from "../../lib/converge/registry";
import { RECORDED_LAB } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const stackOf = (name: string): Stack => {
  const loaded = loadStackFile(join(ROOT, "stacks", `${name}.yaml`));
  assert.ok(loaded.ok, `${name} is valid`);
  return loaded.stack;
};
const secret = (n: string) => `recorded value of ${n}`;

test("a lab host is an IPv4-only container that asks the lab resolver and accepts .test and the lab's reverse names", () => {
  assert.deepEqual(labProfile(RECORDED_LAB), {
    virtualization: "container", ipv6: false,
    resolver: { address: "10.77.0.1", privateZones: ["test", "10.in-addr.arpa"], dnssec: false },
    localRanges: ["10.0.0.0/8"], firewall: true, release: "bookworm",
    // The machine the lab runs on has no WireGuard module: tunnels run in userspace (wireguard-go).
    wireguardUserspace: true,
  });
  assert.ok(LAB.subnet.startsWith("10."), "the lab subnet lies in the local range its profile names");
});

test("Hetzner servers are VMs and existing hosts are machines of their own, both with IPv6 and the public DNS", () => {
  const hetzner = stackOf("hetzner");
  const hackspace = stackOf("hackspace");
  assert.deepEqual(hcloudProvider.profile(hetzner, "mx"), HCLOUD_PROFILE);
  assert.deepEqual(HCLOUD_PROFILE, { virtualization: "vm", ipv6: true, localRanges: [], firewall: true, release: "trixie" });
  assert.deepEqual(existingProvider.profile(hackspace, "box"), EXISTING_PROFILE);
  assert.deepEqual(EXISTING_PROFILE, { virtualization: "none", ipv6: true, localRanges: [], firewall: true, release: "bookworm" });
});

/** One stack (an existing host), rendered with profiles that differ in one fact each. */
const hackspace = stackOf("hackspace");
const render = (role: string, profile: Partial<HostProfile>) =>
  roleNamed(role).state(roleContext(hackspace, "box", secret, { ...EXISTING_PROFILE, ...profile }));
const file = (role: string, profile: Partial<HostProfile>, path: string) => render(role, profile).files.find((f) => f.path === path)?.content;

test("a host without IPv6 gets inet_protocols = ipv4 and no :: listener, whatever kind of host it is", () => {
  assert.match(file("mail", { ipv6: false }, "/etc/postfix/main.cf")!, /^inet_protocols = ipv4$/m);
  assert.match(file("mail", { ipv6: false }, "/etc/dovecot/dovecot.conf")!, /^listen = \*$/m);
  assert.match(file("mail", { ipv6: true }, "/etc/postfix/main.cf")!, /^inet_protocols = all$/m);
  assert.match(file("mail", { ipv6: true }, "/etc/dovecot/dovecot.conf")!, /^listen = \*, ::$/m);
});

test("a container runs no systemd-timesyncd; a VM or a machine of its own does", () => {
  for (const virtualization of ["container", "vm", "none"] as const) {
    const s = render("base", { virtualization });
    const has = virtualization !== "container";
    assert.equal(s.packages.includes("systemd-timesyncd"), has, virtualization);
    assert.equal((s.services ?? []).some((sv) => sv.unit === "systemd-timesyncd.service"), has, virtualization);
  }
});

test("a host without IPv6 gets no IPv6 listener from nginx, Prosody or sshd; a host with IPv6 gets them all", () => {
  for (const ipv6 of [false, true]) {
    const listens6 = (role: string, path: string) => /^\s*listen \[::\]:/m.test(file(role, { ipv6 }, path)!);
    assert.equal(listens6("tls", "/etc/nginx/podkit.d/acme.conf"), ipv6);
    assert.equal(listens6("web", "/etc/nginx/podkit.d/web.conf"), ipv6);
    assert.match(file("xmpp", { ipv6 }, "/etc/prosody/prosody.cfg.lua")!, new RegExp(`^use_ipv6 = ${ipv6}$`, "m"));
    assert.match(file("base", { ipv6 }, "/etc/ssh/sshd_config.d/podkit.conf")!, new RegExp(`^AddressFamily ${ipv6 ? "any" : "inet"}$`, "m"));
    // The firewall keeps its ip6 half either way: harmless without IPv6, and ready the day it comes.
    assert.match(file("base", { ipv6 }, "/etc/nftables.conf")!, /^table inet filter \{$/m);
  }
});

test("a host that cannot load nftables rules gets no firewall unit that could never start, and every other part of base", () => {
  const without = render("base", { firewall: false });
  assert.ok(!without.packages.includes("nftables"));
  assert.ok(!without.files.some((f) => f.path === "/etc/nftables.conf"));
  assert.ok(!(without.checks ?? []).some((c) => c.name === "nft -c"));
  assert.ok(!(without.services ?? []).some((sv) => sv.unit === "nftables.service"));
  assert.ok((without.services ?? []).some((sv) => sv.unit === "ssh.service"));
  const withIt = render("base", { firewall: true });
  assert.ok(withIt.packages.includes("nftables") && (withIt.services ?? []).some((sv) => sv.unit === "nftables.service"));
});

test("the mail filter's config is the same with or without a resolver in the profile: no lab-only path", () => {
  const resolver = { address: "192.0.2.53", privateZones: ["internal", "test"], dnssec: true };
  const withIt = render("mail", { resolver });
  const without = render("mail", {});
  assert.deepEqual(withIt.files.map((f) => [f.path, f.secret ? "" : f.content]), without.files.map((f) => [f.path, f.secret ? "" : f.content]));
  assert.ok(withIt.files.some((f) => f.path === "/etc/rspamd/local.d/dkim_signing.conf"));
});

test("TURN relays into the private blocks a profile calls local, and into no other", () => {
  // turnserver.conf denies them all; the start script allows the profile's own ones back.
  const start = (localRanges: string[]) => file("turn", { localRanges }, "/usr/local/sbin/podkit-coturn")!;
  assert.match(file("turn", { localRanges: ["192.168.0.0/16"] }, "/etc/turnserver.conf")!, /^denied-peer-ip=192\.168\.0\.0-192\.168\.255\.255$/m);
  assert.match(start(["192.168.0.0/16"]), /# 192\.168\.0\.0\/16: the host's own network[^\n]*\n.*allowed 3232235520 3232301055/);
  assert.doesNotMatch(start([]), /allowed \d/);
});

function labStack(hostName: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "podkit-profile-")), "lab.yaml");
  writeFileSync(file, `pod: lab\ndomains: [a.test]\nhosts:\n  mx:\n    lab: { name: ${hostName} }\ndns:\n  zonefile: { nameservers: [ns.a.test] }\n`);
  return file;
}
const loadProblems = (file: string, lab: Parameters<typeof labProvider>[0]) => {
  try {
    loadPod(file, { providers: { lab: labProvider(lab) } });
  } catch (err) {
    assert.ok(err instanceof StackError);
    return err.problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);
  }
  return [];
};

test("a lab host is found in the lab when the stack is loaded, with an error at its line when it is not there", () => {
  assert.deepEqual(loadProblems(labStack("a"), null), ["5:5 hosts.mx.lab: the lab is not running: start it with `npx podkit lab up`"]);
  assert.deepEqual(loadProblems(labStack("c"), RECORDED_LAB), ["5:5 hosts.mx.lab: there is no lab host \"c\": the lab's hosts are a, b, backup, the workshop seats seat1 to seat8 (`podkit lab up --seats N`), and edge and box (`podkit lab up --edge`)"]);
  const { b: _gone, ...hosts } = RECORDED_LAB.hosts;
  assert.deepEqual(loadProblems(labStack("b"), { ...RECORDED_LAB, hosts }), ["5:5 hosts.mx.lab: lab host \"b\" is not running"]);
  const pod = loadPod(labStack("a"), { providers: { lab: labProvider(RECORDED_LAB) } });
  assert.deepEqual(pod.addresses.mx, { ipv4: "10.77.0.11" });
  assert.deepEqual(pod.hosts.mx.target(pod.stack, "mx", {}), {
    address: "10.77.0.11", port: 22, user: "root", hostKey: RECORDED_LAB.hosts.a.hostKey, privateKeyPath: RECORDED_LAB.hosts.a.sshPrivateKeyPath,
  });
});

test("an existing host's stack may name the resolver OpenDKIM must ask; the facts it declares win, the rest stay the defaults", () => {
  const stack = structuredClone(hackspace);
  stack.hosts.box.existing!.profile = { ipv6: false, resolver: { address: "10.1.0.53", privateZones: ["internal"], dnssec: true } };
  assert.deepEqual(existingProvider.profile(stack, "box"), {
    ...EXISTING_PROFILE, ipv6: false, resolver: { address: "10.1.0.53", privateZones: ["internal"], dnssec: true },
  });
  assert.deepEqual(existingProvider.declaredFacts!(stack, "box"), { facts: { ipv6: false }, field: "hosts.box.existing.profile" });
});

test("a new Hetzner server runs Debian 13 unless its stack names debian-12, and its release follows its image", () => {
  assert.equal(releaseOfImage("debian-12"), "bookworm");
  assert.equal(releaseOfImage("debian-13"), "trixie");
  const stack = structuredClone(stackOf("hetzner"));
  assert.equal(stack.hosts.mx.hcloud!.image, "debian-13");
  assert.equal(hcloudProvider.profile(stack, "mx").release, "trixie");
  stack.hosts.mx.hcloud!.image = "debian-12";
  assert.equal(hcloudProvider.profile(stack, "mx").release, "bookworm");
  assert.throws(() => releaseOfImage("debian-11"), /renders configs for Debian 12 \(bookworm\) or Debian 13 \(trixie\) only, not for the image "debian-11"/);
});

test("an existing host's stack may pin its release: pulumi up renders for it", () => {
  const stack = structuredClone(hackspace);
  stack.hosts.box.existing!.profile = { release: "trixie" };
  assert.equal(existingProvider.profile(stack, "box").release, "trixie");
  assert.deepEqual(existingProvider.declaredFacts!(stack, "box"), { facts: { release: "trixie" }, field: "hosts.box.existing.profile" });
});
