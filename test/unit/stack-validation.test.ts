// Bad stack files get every problem at once, each with file:line:column, the
// field path and what was expected, before anything touches a network.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseStack } from "../../lib/stack/load";
import { formatProblem } from "../../lib/stack/problems";

const GOOD = `pod: demo
domains: [example.org, example.net]
hosts:
  mx:
    existing:
      address: 203.0.113.10
      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8
dns:
  zonefile: {nameservers: [ns1.example.net]}
mail:
  host: mx
chat:
  host: mx
accounts:
  alice@example.org:
    password: {secret: alice}
    aliases: [postmaster]
    groups: [family]
groups:
  family: {name: Family}
`;

/** GOOD with line `n` (1-based) replaced by `line` (several lines allowed), or extra lines appended. */
function edit(n: number, line: string): string {
  const lines = GOOD.split("\n");
  lines[n - 1] = line;
  return lines.join("\n");
}
const append = (extra: string) => GOOD + extra;

function problems(text: string): string[] {
  const r = parseStack(text, "s.yaml");
  return r.ok ? [] : r.problems.map(formatProblem);
}

test("the reference stack used by these cases is valid", () => {
  assert.deepEqual(problems(GOOD), []);
});

const CASES: [string, string, string[]][] = [
  ["an unknown top-level key, with a did-you-mean", append("acounts: {}\n"),
    ['s.yaml:21:1 acounts: unknown key "acounts"; did you mean "accounts"?']],
  ["an unknown key deep inside a host", edit(6, "      adress: 203.0.113.10"),
    ['s.yaml:6:7 hosts.mx.existing.adress: unknown key "adress"; did you mean "address"?',
      "s.yaml:5:5 hosts.mx.existing: missing required field \"address\" (a text value)"]],
  ["a number where text is expected", edit(1, "pod: 42"),
    ["s.yaml:1:6 pod: expected a text value, got number 42"]],
  ["text where a number is expected", append("privacy: {logRetentionDays: seven}\n"),
    ['s.yaml:21:29 privacy.logRetentionDays: expected a number, got "seven"']],
  ["a number out of range", append("privacy: {logRetentionDays: 400}\n"),
    ["s.yaml:21:29 privacy.logRetentionDays: expected at most 90, got number 400"]],
  ["a Junk score that is not below the reject score", edit(11, "  host: mx\n  filter: {junkScore: 15, rejectScore: 10}"),
    ["s.yaml:12:23 mail.filter.junkScore: expected a junkScore below rejectScore (10): mail between the two goes to Junk, mail from rejectScore on is refused, got number 15"]],
  ["a sending window that is not a duration", edit(11, "  host: mx\n  limits: {messages: {count: 20, per: 1x}}"),
    ['s.yaml:12:39 mail.limits.messages.per: expected a duration: a whole number and s, m, h or d (e.g. "10m", "1h"), got "1x"']],
  ["a missing required top-level field", GOOD.replace("pod: demo\n", ""),
    ['s.yaml:1:1 (top level): missing required field "pod" (a text value)']],
  ["a pod name with capitals", edit(1, "pod: Demo"),
    ['s.yaml:1:6 pod: expected a pod name: lower-case letters, digits and "-", starting with a letter (e.g. "mx"), got "Demo"']],
  ["a domain with a trailing dot", edit(2, "domains: [example.org, example.net.]"),
    ['s.yaml:2:24 domains[1]: expected a lower-case domain name without a trailing dot (e.g. "example.org"), got "example.net."']],
  ["a domain listed twice", edit(2, "domains: [example.org, example.org]"),
    ['s.yaml:2:24 domains[1]: "example.org" is listed twice (first as domains[0])']],
  ["a dangling mail host reference", edit(11, "  host: mail"),
    ['s.yaml:11:9 mail.host: host "mail" is not defined in hosts (hosts: mx)']],
  ["a mistyped chat host reference", edit(13, "  host: mz"),
    ['s.yaml:13:9 chat.host: host "mz" is not defined in hosts; did you mean "mx"?']],
  ["a host with no provider", edit(5, "    fqdn: mx.example.org").replace(/      address.*\n      hostKey.*\n/, ""),
    ["s.yaml:5:5 hosts.mx: a host needs exactly one of hcloud, existing or lab; it has none"]],
  ["a host with two providers", edit(8, "    lab: {name: a}\ndns:"),
    ["s.yaml:8:5 hosts.mx.lab: a host needs exactly one of hcloud, existing or lab; it has existing and lab"]],
  ["an existing host without a pinned host key", GOOD.replace(/      hostKey.*\n/, ""),
    ["s.yaml:5:5 hosts.mx.existing: no pinned host key: podkit never trusts a host key on first use. On the host's console run `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` and set hosts.mx.existing.hostKey to the SHA256:... it prints (or paste the .pub line)"]],
  ["a malformed host key", edit(7, "      hostKey: AAAAC3NzaC1lZDI1NTE5"),
    ['s.yaml:7:16 hosts.mx.existing.hostKey: expected a host public key ("ssh-ed25519 AAAA...") or its fingerprint ("SHA256:..."), got "AAAAC3NzaC1lZDI1NTE5"']],
  ["an SSH source network with host bits set, which Hetzner's firewall refuses", append("admin:\n  sshFrom: [198.51.100.7/24, \"2001:db8:77::1/48\", 192.0.2.0/24]\n"),
    ['s.yaml:22:13 admin.sshFrom[0]: expected a network written from its first address (host bits clear): "198.51.100.0/24", or the single address "198.51.100.7", got "198.51.100.7/24"',
      's.yaml:22:30 admin.sshFrom[1]: expected a network written from its first address (host bits clear): "2001:db8:77::/48", or the single address "2001:db8:77::1", got "2001:db8:77::1/48"']],
  ["a Hetzner server type that Hetzner has retired", edit(5, "    hcloud: {serverType: cx22}").replace(/      address.*\n      hostKey.*\n/, ""),
    ['s.yaml:5:26 hosts.mx.hcloud.serverType: expected a server type Hetzner still creates: cx22 is retired, its successor is "cx23", got "cx22"']],
  ["a Hetzner image of a Debian release podkit has no configs for", edit(5, "    hcloud: {image: debian-11}").replace(/      address.*\n      hostKey.*\n/, ""),
    ['s.yaml:5:21 hosts.mx.hcloud.image: expected a Debian image podkit renders configs for: "debian-13" or "debian-12", not "debian-11", got "debian-11"']],
  ["an existing host pinned to a release podkit has no configs for", edit(7, "      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\n      profile: {release: bullseye}"),
    ['s.yaml:8:26 hosts.mx.existing.profile.release: expected one of "bookworm", "trixie", got "bullseye"']],
  ["an invalid IPv4 address", edit(6, "      address: 203.0.113.300"),
    ['s.yaml:6:16 hosts.mx.existing.address: expected an IPv4 address (e.g. "203.0.113.10"), got "203.0.113.300"']],
  ["two hosts with the same address", edit(8, "  mx2:\n    existing: {address: 203.0.113.10, hostKey: \"SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\"}\ndns:"),
    ['s.yaml:9:25 hosts.mx2.existing.address: 203.0.113.10 is already the address of host "mx"']],
  ["an account on a domain the pod does not serve", edit(15, "  alice@example.com:"),
    ['s.yaml:15:3 accounts["alice@example.com"]: alice@example.com is not on one of the pod\'s domains (example.org, example.net)',
      's.yaml:17:15 accounts["alice@example.com"].aliases[0]: postmaster@example.com is not on one of the pod\'s domains (example.org, example.net)',
      "s.yaml:10:1 mail: postmaster@example.org must exist (RFC 5321, and it receives DMARC reports): add it as an alias of an admin's account, or set mail.dmarc.reports"]],
  ["an address claimed twice (alias and account)", append("  bob@example.org:\n    password: {secret: bob}\n    aliases: [postmaster@example.org]\n").replace("groups:\n  family: {name: Family}\n", "") + "groups:\n  family: {name: Family}\n",
    ['s.yaml:21:15 accounts["bob@example.org"].aliases[0]: postmaster@example.org is already claimed by an alias of alice@example.org (accounts["alice@example.org"].aliases[0])']],
  ["an alias that is another account's address", append("  bob@example.org:\n    password: {secret: bob}\n    aliases: [alice@example.org]\n").replace("groups:\n  family: {name: Family}\n", "") + "groups:\n  family: {name: Family}\n",
    ['s.yaml:21:15 accounts["bob@example.org"].aliases[0]: alice@example.org is already claimed by account alice@example.org']],
  ["an alias on a foreign domain", edit(17, "    aliases: [postmaster, info@example.com]"),
    ['s.yaml:17:27 accounts["alice@example.org"].aliases[1]: info@example.com is not on one of the pod\'s domains (example.org, example.net)']],
  ["a malformed account address", edit(15, "  alice:"),
    ['s.yaml:15:3 accounts.alice: key "alice" is not a lower-case mail address (e.g. "alice@example.org")',
      "s.yaml:10:1 mail: postmaster@example.org must exist (RFC 5321, and it receives DMARC reports): add it as an alias of an admin's account, or set mail.dmarc.reports"]],
  ["a password written in the stack file", edit(16, "    password: hunter2"),
    ['s.yaml:16:15 accounts["alice@example.org"].password: secrets are never written in the stack file: write `password: { secret: <name> }` and set the value with `pulumi config set --secret podkit:<name>` or in the stack\'s secrets file']],
  ["a group that does not exist", edit(18, "    groups: [famly]"),
    ['s.yaml:18:14 accounts["alice@example.org"].groups[0]: group "famly" is not defined in groups; did you mean "family"?']],
  ["a DMARC report address that does not exist", edit(11, "  host: mx\n  dmarc: {reports: dmarc@example.org}"),
    ["s.yaml:12:20 mail.dmarc.reports: dmarc@example.org is not an account or alias of this pod: reports sent there would bounce"]],
  ["an enum value with a typo", edit(11, "  host: mx\n  dmarc: {policy: rejcet}"),
    ['s.yaml:12:19 mail.dmarc.policy: expected one of "none", "quarantine", "reject", got "rejcet"; did you mean "reject"?']],
  ["a malformed quota", edit(18, "    quota: 2 gigs"),
    ['s.yaml:18:12 accounts["alice@example.org"].quota: expected a size: a whole number and K, M, G or T (e.g. "2G"), got "2 gigs"']],
  ["both Cloudflare and a zone file", edit(9, "  zonefile: {nameservers: [ns1.example.net]}\n  cloudflare: {}"),
    ["s.yaml:9:3 dns.zonefile: dns.cloudflare and dns.zonefile are exclusive: keep one"]],
  ["no DNS provider", edit(9, "  ttl: 300"),
    ["s.yaml:8:1 dns: choose where records live: dns.cloudflare or dns.zonefile"]],
  ["a domain outside the declared DNS zones", edit(9, "  zonefile: {nameservers: [ns1.example.net]}\n  zones: [example.org]"),
    ['s.yaml:2:24 domains[1]: "example.net" is not in any of dns.zones (example.org): its records would have nowhere to go']],
  ["a backup target with neither sftp nor rest", append("backup:\n  host: mx\n  target: {}\n  passphrase: {secret: backup}\n"),
    ["s.yaml:23:11 backup.target: a backup target needs exactly one of sftp or rest; it has none"]],
  ["a relay password in plain text and a bad port", append("  \n").replace("mail:\n  host: mx\n", "mail:\n  host: mx\n  relay: {host: smtp.example.net, port: 70000, username: u, password: pw}\n"),
    ["s.yaml:12:41 mail.relay.port: expected at most 65535, got number 70000",
      "s.yaml:12:71 mail.relay.password: secrets are never written in the stack file: write `password: { secret: <name> }` and set the value with `pulumi config set --secret podkit:<name>` or in the stack's secrets file"]],
  ["an account forwarding to itself", edit(18, "    groups: [family]\n    forward: [alice@example.org]"),
    ['s.yaml:19:15 accounts["alice@example.org"].forward[0]: an account cannot forward to itself (a mail loop)']],
  ["a key that appears twice", edit(13, "  host: mx\n  host: mx"),
    ["s.yaml:14:3 (yaml): this key appears twice in the same mapping"]],
  ["broken YAML syntax", edit(2, "domains: [example.org, example.net"),
    ["s.yaml:3:1 (yaml): Flow sequence in block collection must be sufficiently indented and end with a ]"]],
  ["an empty file", "",
    ["s.yaml:1:1 (top level): a stack file is a mapping with pod, domains, hosts, dns, ... (see schema/stack.schema.json)"]],
  ["a list where a mapping is expected", edit(9, "  zonefile: [ns1.example.net]"),
    ["s.yaml:9:13 dns.zonefile: expected a mapping (key: value lines), got a list"]],
];

for (const [what, text, expected] of CASES) {
  test(`rejects ${what}`, () => {
    const got = problems(text);
    assert.deepEqual([...got].sort(), [...expected].sort());
  });
}

test("reports every problem of a file at once, in line order", () => {
  const text = GOOD.replace("pod: demo", "pod: Demo").replace("host: mx\nchat", "host: mc\nchat").replace("groups: [family]", "groups: [famly]");
  const got = problems(text);
  assert.equal(got.length, 3);
  assert.deepEqual(got.map((p) => Number(p.split(":")[1])), [1, 11, 18]);
});

test("defaults are applied once, from the schema", () => {
  const r = parseStack(GOOD, "s.yaml");
  assert.ok(r.ok);
  assert.equal(r.stack.mail?.dmarc.policy, "quarantine");
  assert.equal(r.stack.hosts.mx.existing?.ssh.port, 22);
  assert.equal(r.stack.accounts["alice@example.org"].quota, "2G");
  assert.equal(r.stack.dns.ttl, 3600);
});

test("a Hetzner host without a server type gets one Hetzner still creates", () => {
  const r = parseStack(GOOD.replace(/    existing:\n.*\n.*\n/, "    hcloud: {}\n"), "s.yaml");
  assert.ok(r.ok, r.ok ? "" : r.problems.map(formatProblem).join("\n"));
  assert.equal(r.stack.hosts.mx.hcloud?.serverType, "cx23");
});
