// What podkit makes of a host from what the host says in the facts round-trip:
// recorded outputs of the detection commands on a Hetzner VM, a Proxmox LXC
// container, a systemd-nspawn container (the lab's kind), a container VPS that
// forbids nftables, a Docker container with only a ULA, and a VM before nftables
// is installed, each turned into the profile the roles render with.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { factsScript, parseFacts } from "../../lib/converge/facts";
import {
  describeProfile, HOST_FACTS_SCRIPT, parseHostFacts, profileFromFacts, profileMismatches, profileNotes, unsupportedHost, type HostFacts,
} from "../../lib/converge/host-facts";
import { EXISTING_PROFILE } from "../../lib/infra/existing-provider";

const recorded = (name: string): HostFacts => {
  const facts = parseHostFacts(readFileSync(join(__dirname, "..", "fixtures", "host-facts", `${name}.txt`), "utf8"));
  assert.ok(facts, `${name} holds detection output`);
  return facts;
};
const profileOf = (name: string, declared = {}) => profileFromFacts(EXISTING_PROFILE, recorded(name), declared);

test("a Hetzner VM is a VM with public IPv6 and its own firewall", () => {
  const facts = recorded("vm-hetzner-kvm");
  const profile = profileFromFacts(EXISTING_PROFILE, facts);
  assert.deepEqual(profile, { ...EXISTING_PROFILE, virtualization: "vm", ipv6: true, firewall: true, release: "bookworm" });
  assert.equal(describeProfile(profile, facts), "Debian 12 (bookworm), vm (kvm), IPv4 and IPv6");
  assert.deepEqual(profileNotes(profile, facts, ["tcp 22"]), []);
});

test("a Proxmox LXC container with a SLAAC address is a container with IPv6; its ULA alone would not count", () => {
  const facts = recorded("lxc-proxmox-slaac");
  const profile = profileFromFacts(EXISTING_PROFILE, facts);
  assert.equal(profile.virtualization, "container");
  assert.equal(profile.ipv6, true);
  assert.equal(describeProfile(profile, facts), "Debian 12 (bookworm), container (lxc), IPv4 and IPv6");
  assert.deepEqual(profileNotes(profile, facts, []), [
    "time sync is the job of the machine outside this container: podkit installs no systemd-timesyncd here",
  ]);
});

test("an nspawn container without a global IPv6 address is an IPv4-only container", () => {
  const facts = recorded("nspawn-ipv4-only");
  const profile = profileFromFacts(EXISTING_PROFILE, facts);
  assert.deepEqual(profile, { ...EXISTING_PROFILE, virtualization: "container", ipv6: false, firewall: true });
  assert.equal(describeProfile(profile, facts), "Debian 12 (bookworm), container (systemd-nspawn), IPv4 only");
});

test("only a ULA (fd00::/8), or an address still in duplicate address detection, is no IPv6 network", () => {
  assert.equal(profileOf("docker-ula-only").ipv6, false);
  assert.equal(profileOf("openvz-vps-no-nftables").ipv6, false);
  // Deprecated: the address is on its way out, and nothing new may use it.
  assert.equal(profileOf("vm-nftables-not-installed-trixie").ipv6, false);
});

test("a container VPS that refuses nftables gets no firewall of its own and a loud warning naming the ports the outside must allow", () => {
  const facts = recorded("openvz-vps-no-nftables");
  const profile = profileFromFacts(EXISTING_PROFILE, facts);
  assert.equal(profile.firewall, false);
  assert.equal(describeProfile(profile, facts), "Debian 12 (bookworm), container (openvz), IPv4 only, no firewall of its own");
  const notes = profileNotes(profile, facts, ["tcp 22", "tcp 25"]);
  assert.ok(notes.some((n) => n.startsWith("WARNING: this host cannot load nftables rules (nft list ruleset: netlink: Error: cache initialization failed: Operation not permitted)")
    && n.endsWith("except tcp 22, tcp 25")), notes.join("\n"));
  assert.ok(notes.some((n) => n.includes("net.* sysctls")), "read-only kernel parameters are said");
});

test("before nftables is installed the firewall fact is not known, so the host keeps the firewall its kind expects", () => {
  const facts = recorded("vm-nftables-not-installed-trixie");
  assert.equal(facts.nftables, undefined);
  const profile = profileFromFacts(EXISTING_PROFILE, facts);
  assert.equal(profile.firewall, true);
  assert.equal(profile.release, "trixie");
});

test("a Debian 13 host is rendered for trixie without a warning, and its release wins over the one the stack declares", () => {
  const facts = recorded("vm-nftables-not-installed-trixie");
  const profile = profileFromFacts(EXISTING_PROFILE, facts, { release: "bookworm" });
  assert.equal(profile.release, "trixie");
  assert.equal(unsupportedHost(profile, facts), undefined);
  assert.deepEqual(profileNotes(profile, facts, []), []);
  assert.equal(describeProfile(profile, facts), "Debian 13 (trixie), vm (qemu), IPv4 only");
});

test("a Debian 11 host is refused with the releases podkit supports and the rebuild path, before any role renders", () => {
  const facts = recorded("vm-bullseye");
  const refused = unsupportedHost(profileFromFacts(EXISTING_PROFILE, facts), facts);
  assert.match(refused ?? "", /^this host runs Debian 11 \(bullseye\)\. podkit renders configs for Debian 12 \(bookworm\) or Debian 13 \(trixie\) only/);
  assert.match(refused ?? "", /upgrading in place is not supported/);
});

test("what the stack declares wins over detection (a host that gets IPv6 next week)", () => {
  assert.equal(profileOf("nspawn-ipv4-only", { ipv6: true }).ipv6, true);
  assert.equal(profileOf("vm-hetzner-kvm", { ipv6: false }).ipv6, false);
  assert.equal(profileOf("vm-hetzner-kvm", { virtualization: "none" }).virtualization, "none");
});

test("a host unlike the profile it was rendered for is named with the fact and the stack field to set; declared facts stand", () => {
  const facts = recorded("nspawn-ipv4-only");
  assert.deepEqual(profileMismatches(EXISTING_PROFILE, facts, {}, "hosts.box.existing.profile"), [
    'the host\'s virtualization is "container" but the stack renders it as "none": set hosts.box.existing.profile.virtualization: "container"',
    "the host's ipv6 is false but the stack renders it as true: set hosts.box.existing.profile.ipv6: false",
  ]);
  assert.deepEqual(profileMismatches({ ...EXISTING_PROFILE, virtualization: "container" }, facts, { ipv6: true }, "f"), []);
  // A VPS rendered as a machine of its own renders the same as a VM would: no stop.
  assert.deepEqual(profileMismatches(EXISTING_PROFILE, recorded("vm-hetzner-kvm"), {}, "f"), []);
});

test("under pulumi up a host that runs another release than the stack renders for stops, even when the stack declares it", () => {
  const trixie = recorded("vm-nftables-not-installed-trixie");
  const rendered = { ...EXISTING_PROFILE, virtualization: "vm" as const, ipv6: false };
  assert.deepEqual(profileMismatches(rendered, trixie, { release: "bookworm" }, "hosts.box.existing.profile"), [
    "the host runs trixie but the stack renders it for bookworm: set hosts.box.existing.profile.release: trixie",
  ]);
  assert.deepEqual(profileMismatches({ ...rendered, release: "trixie" }, trixie, { release: "trixie" }, "f"), []);
  const [bullseye] = profileMismatches(rendered, recorded("vm-bullseye"), {}, "f");
  assert.match(bullseye, /^this host runs Debian 11 \(bullseye\)\. podkit renders configs for/);
});

test("without detection output the profile is the kind's, marked as not probed", () => {
  assert.equal(parseHostFacts("S 644 root root /etc/hostname\n"), undefined);
  assert.deepEqual(profileFromFacts(EXISTING_PROFILE, undefined), EXISTING_PROFILE);
  assert.equal(describeProfile(EXISTING_PROFILE), "Debian (bookworm), no virtualization, IPv4 and IPv6 (not probed)");
});

test("the detection commands run in bash and their answer parses, in the same script as the file facts", () => {
  const query = { files: ["/etc/hostname"], dirs: [], packages: [], units: [] };
  const script = factsScript(query, { host: true });
  for (const line of HOST_FACTS_SCRIPT) assert.ok(script.includes(line));
  const out = spawnSync("bash", ["-s"], { input: script, encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  const facts = parseFacts(out.stdout, query);
  assert.ok(facts.host, "host facts came back with the file facts");
  assert.ok(facts.host.os.codename, "the release is read from /etc/os-release");
  assert.equal(parseFacts(spawnSync("bash", ["-s"], { input: factsScript(query), encoding: "utf8" }).stdout, query).host, undefined);
});
