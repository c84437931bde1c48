// The base role: its firewall and sshd drop-in for every example stack, loaded by
// nft and sshd in each release's checker root (a typo in the ruleset stops at nft); and on a
// host with a data volume, the mounts that put every place the pod keeps data on
// it before the daemons that write there may start.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, hostsWith, RELEASE_CODENAMES } from "../../test/config/role-checks";
import { withHostRoot } from "../../lib/checker/host-root";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roleContext } from "../../lib/converge/pod";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { loadStackFile } from "../../lib/stack/load";
import { base } from "./role";
import { DATA_DIRS } from "./data-volume";
import { labProfileWithResolver } from "../../lib/lab/provider";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's firewall and sshd config pass nft -c and sshd -t (${release})`, async (t) => {
    await assertChecksPass(t, "base", release);
  });

  test(`a typo in unbound's config is refused by unbound-checkconf with its own message (${release})`, async () => {
    const r = await checkEdited("base", "/etc/unbound/unbound.conf.d/podkit.conf", (c) => c.replace("qname-minimisation: yes", "qname-minimization: yes"), release);
    assert.equal(r.refused, "unbound-checkconf", r.output);
    assert.match(r.output, /podkit\.conf:\d+: error: unknown keyword 'qname-minimization'/, r.output);
  });

  test(`a typo in nftables.conf is refused by nft with its own message (${release})`, async () => {
    const r = await checkEdited("base", "/etc/nftables.conf", (c) => c.replace("policy drop;", "policy dorp;"), release);
    assert.equal(r.refused, "nft -c", r.output);
    assert.match(r.output, /syntax error, unexpected string, expecting accept or drop/, r.output);
  });
}

const loaded = loadStackFile(join(__dirname, "../../stacks/hetzner.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const DEVICE = "/dev/disk/by-id/scsi-0HC_Volume_1042";
const render = (dataVolume?: string) => base.state(roleContext(stack, "mx", () => "x", { ...HCLOUD_PROFILE, ...(dataVolume ? { dataVolume } : {}) }));
const file = (state: ReturnType<typeof render>, path: string) => state.files.find((f) => f.path === path)?.content;

test("a host with a data volume mounts it by device id and bind-mounts mail, chat and backup staging from it", () => {
  const s = render(DEVICE);
  const volume = file(s, "/etc/systemd/system/srv-podkit.mount")!;
  assert.match(volume, /^What=\/dev\/disk\/by-id\/scsi-0HC_Volume_1042$/m);
  assert.match(volume, /^Where=\/srv\/podkit$/m);
  assert.match(volume, /^Options=.*nofail/m, "a missing volume does not stop the boot");
  for (const [path, unit, source] of [
    ["/var/mail/vhosts", "var-mail-vhosts.mount", "/srv/podkit/mail"],
    ["/var/lib/prosody", "var-lib-prosody.mount", "/srv/podkit/prosody"],
    ["/var/backups/podkit", "var-backups-podkit.mount", "/srv/podkit/backup-stage"],
  ]) {
    const bind = file(s, `/etc/systemd/system/${unit}`);
    assert.ok(bind, `${unit} exists`);
    assert.match(bind, new RegExp(`^What=${source}$`, "m"));
    assert.match(bind, new RegExp(`^Where=${path}$`, "m"));
    assert.match(bind, /^Options=bind/m);
  }
  // Each daemon that writes there requires its mount: without the volume it does not start.
  for (const d of DATA_DIRS) {
    for (const unit of d.units) {
      assert.match(file(s, `/etc/systemd/system/${unit}.d/10-podkit-data.conf`) ?? "", new RegExp(`^RequiresMountsFor=${d.path}$`, "m"), unit);
    }
  }
  // The mounts are started (in order: volume, directories, binds) before nftables and the rest; unit files are read first.
  const units = s.services!.map((x) => x.unit);
  assert.deepEqual(units.slice(0, 5), ["srv-podkit.mount", "podkit-data-dirs.service", "var-mail-vhosts.mount", "var-lib-prosody.mount", "var-backups-podkit.mount"]);
  assert.ok(s.handlers!.some((h) => h.run === "systemctl daemon-reload" && h.when.includes("/etc/systemd/system/srv-podkit.mount")));
  // What is already in a directory the first time is copied onto the volume, owners and modes kept.
  assert.match(file(s, "/etc/systemd/system/podkit-data-dirs.service")!, /cp -a \/var\/mail\/vhosts\/\. \/srv\/podkit\/mail\.new\//);
});

test("a host without a data volume mounts nothing", () => {
  const s = render();
  assert.deepEqual(s.files.filter((f) => /\.mount$|podkit-data/.test(f.path)).map((f) => f.path), []);
});

for (const release of RELEASE_CODENAMES) test(`sshd, with the role's files in place, reads root's keys from the role's file alone (${release})`, async () => {
  const { host } = hostsWith("base", release).find((h) => h.host.stack.endsWith("hetzner.yaml"))!;
  const r = await withHostRoot(host, (root) => root.sh("sshd -T -C user=root,host=admin.example,addr=192.0.2.1 | grep -i '^authorizedkeys'"));
  assert.equal(r.code, 0, r.output);
  // What sshd itself makes of every drop-in: no ~/.ssh/authorized_keys, no command asked for keys.
  assert.deepEqual(r.output.trim().split("\n").sort(), ["authorizedkeyscommand none", "authorizedkeyscommanduser none", "authorizedkeysfile /etc/ssh/authorized_keys.d/%u"]);
});

test("only root may ask the cloud's metadata service for the first-boot user data, which holds the host's private key", () => {
  const rules = file(render(), "/etc/nftables.conf")!;
  const output = rules.slice(rules.indexOf("chain output"));
  assert.match(output, /^\s*ip daddr 169\.254\.169\.254 meta skuid != 0 reject/m);
});

const unbound = (state: ReturnType<typeof render>) => file(state, "/etc/unbound/unbound.conf.d/podkit.conf")!;

test("a host on its own resolves from the root, validating, on loopback only, and resolv.conf names it", () => {
  const s = render();
  const conf = unbound(s);
  assert.match(conf, /^\s+interface: 127\.0\.0\.1$/m);
  assert.match(conf, /^\s+interface: ::1$/m, "the Hetzner host has IPv6");
  assert.deepEqual([...conf.matchAll(/^\s+interface: (\S+)$/gm)].map((m) => m[1]), ["127.0.0.1", "::1"]);
  assert.match(conf, /^\s+access-control: 0\.0\.0\.0\/0 refuse$/m);
  assert.match(conf, /^\s+module-config: "validator iterator"$/m);
  assert.match(conf, /^\s+qname-minimisation: yes$/m);
  assert.match(conf, /^\s+num-threads: 1$/m);
  assert.doesNotMatch(conf, /forward-zone|forward-addr/, "no forwarding: blocklists refuse forwarded questions");
  assert.deepEqual(file(s, "/etc/podkit/resolv.conf")!.split("\n").filter((l) => l && !l.startsWith("#")), ["nameserver 127.0.0.1", "nameserver ::1", "options trust-ad edns0"]);
  assert.ok(s.packages.includes("unbound") && s.packages.includes("dns-root-data"));
  // resolv.conf moves only after the services are healthy, and whenever it is not the wanted file.
  const h = s.handlers!.find((x) => x.run.includes("/etc/resolv.conf"))!;
  assert.equal(h.phase, "after-reload");
  assert.deepEqual(h.when, ["/etc/podkit/resolv.conf"]);
  assert.match(h.unless!, /! -L \/etc\/resolv\.conf/);
  assert.match(h.run, /^systemctl is-active -q unbound\.service && install .* && \{ mv -f \/etc\/resolv\.conf\.podkit-new \/etc\/resolv\.conf /);
  assert.deepEqual(s.services!.find((x) => x.unit === "unbound.service")?.ports, [53]);
  assert.match(file(s, "/etc/dhcp/dhclient-enter-hooks.d/podkit-keep-resolv-conf")!, /^make_resolv_conf\(\) \{\n\s+:\n\}$/m);
});

test("a host whose profile names a resolver forwards to it, accepts its private zones uncached, and validates only if it passes DNSSEC", () => {
  const forwarding = (dnssec: boolean) => unbound(base.state(roleContext(stack, "mx", () => "x", {
    ...HCLOUD_PROFILE, ipv6: false, resolver: { address: "10.1.0.53", privateZones: ["internal"], dnssec },
  })));
  const conf = forwarding(false);
  assert.deepEqual([...conf.matchAll(/^\s+interface: (\S+)$/gm)].map((m) => m[1]), ["127.0.0.1"]);
  assert.match(conf, /^\s+do-ip6: no$/m);
  assert.match(conf, /local-zone: "internal\." nodefault\n\s+domain-insecure: "internal\."/);
  assert.match(conf, /forward-zone:\n\s+name: "internal\."\n\s+forward-addr: 10\.1\.0\.53\n\s+forward-no-cache: yes/);
  assert.match(conf, /forward-zone:\n\s+name: "\."\n\s+forward-addr: 10\.1\.0\.53\n/);
  assert.match(conf, /^\s+module-config: "iterator"$/m);
  assert.match(forwarding(true), /^\s+module-config: "validator iterator"$/m);
});

for (const release of RELEASE_CODENAMES) test(`podkit-ban puts an address over the limit into the loaded firewall's set, with the ban's timeout, and spares the admins (${release})`, async () => {
  const { host } = hostsWith("base", release).find((h) => h.host.stack.endsWith("lab-a.yaml"))!;
  // journalctl here is a stand-in that prints what the journal would (Dovecot 2.4's lines), then ends.
  const line = (addr: string) => `1000.000001 dovecot[812]: imap-login: Login aborted: Logged out (auth failed, 1 attempts in 2 secs) (auth_failed): user=<alice@a.test>, method=PLAIN, rip=${addr}, lip=10.77.0.11, TLS, session=<wdT71aJhFJl/AAAB>`;
  const journal = [...Array(10).fill(line("10.77.0.98")), ...Array(12).fill(line("10.77.0.1"))].join("\n");
  const r = await withHostRoot(host, (root) => root.sh(`
set -u
nft -f /etc/nftables.conf
printf '#!/bin/sh\\necho "$@" > /tmp/journalctl.args\\ncat <<EOF\\n%s\\nEOF\\n' '${journal}' > /usr/local/bin/journalctl
chmod 755 /usr/local/bin/journalctl
/usr/local/sbin/podkit-ban; echo "exit $?"
echo "--- args"; cat /tmp/journalctl.args
echo "--- set"; nft list set inet filter banned_ipv4
`));
  const [out, args, set] = r.output.split(/--- \w+\n/);
  assert.match(out, /^banned 10\.77\.0\.98 for 3600s: 10 failures within 600s \(imap login\)$/m, r.output);
  assert.match(out, /^exit 1$/m, "it ends only with the journal, for systemd to start it again");
  assert.match(args, /--follow --since=-600s --output=short-unix --no-hostname --quiet -t postfix\/submission\/smtpd -t postfix\/submissions\/smtpd -t dovecot -t prosody/);
  assert.match(set, /elements = \{ 10\.77\.0\.98 timeout 1h expires /, set);
  assert.doesNotMatch(set, /10\.77\.0\.1\b/, "the admin machine is never added");
});

/**
 * A stand-in for the lab resolver on 10.77.0.1 (an address on the checker root's own
 * loopback): it serves a lab name, and answers other names as the outer resolver the lab
 * forwards to does, without DNSSEC (`. DNSKEY` is NXDOMAIN there too).
 */
const STRIPPING_FORWARDER = `server:
    interface: 10.77.0.1
    access-control: 0.0.0.0/0 allow
    username: ""
    chroot: ""
    directory: "/tmp"
    pidfile: ""
    use-syslog: no
    module-config: "iterator"
    local-zone: "test." static
    local-data: "mx.b.test. A 10.77.0.12"
    local-zone: "." static
    local-data: "deb.debian.org. A 203.0.113.80"
`;

for (const release of RELEASE_CODENAMES) test(`a lab host's resolver answers lab names and outside names through a forwarder that strips DNSSEC; validating there would fail (${release})`, async () => {
  const { host } = hostsWith("base", release).find((h) => h.host.stack.endsWith("lab-a.yaml"))!;
  const validating = unbound(base.state(roleContext(loadLab(), "mx", () => "x",
    { ...labProfileWithResolver(undefined, release), resolver: { address: "10.77.0.1", privateZones: ["test"], dnssec: true } })));
  const r = await withHostRoot(host, (root) => root.sh(`
set -u
ip addr add 10.77.0.1/32 dev lo
printf '%s' '${STRIPPING_FORWARDER}' > /tmp/forwarder.conf
unbound -d -c /tmp/forwarder.conf > /tmp/forwarder.out 2>&1 &
/usr/libexec/unbound-helper root_trust_anchor_update >/dev/null
start() { unbound -d -c /etc/unbound/unbound.conf > /tmp/unbound.out 2>&1 & U=$!; for i in $(seq 50); do timeout 1 bash -c '</dev/tcp/127.0.0.1/53' 2>/dev/null && break; sleep 0.1; done; }
start
echo "lab: $(getent hosts mx.b.test | tr -s ' ') / $(getent hosts deb.debian.org | tr -s ' ')"
kill $U; wait $U 2>/dev/null
echo '${Buffer.from(validating).toString("base64")}' | base64 -d > /etc/unbound/unbound.conf.d/podkit.conf
start
echo "validating: $(getent hosts mx.b.test | tr -s ' ') / $(getent hosts deb.debian.org | tr -s ' ' || true)"
kill $U %1 2>/dev/null; wait
`));
  assert.match(r.output, /^lab: 10\.77\.0\.12 mx\.b\.test \/ 203\.0\.113\.80 deb\.debian\.org$/m, r.output);
  // Validating behind it: the lab's own zone still answers (domain-insecure), every outside name is bogus.
  assert.match(r.output, /^validating: 10\.77\.0\.12 mx\.b\.test \/ $/m, r.output);
});

function loadLab() {
  const l = loadStackFile(join(__dirname, "../../stacks/lab-a.yaml"));
  assert.ok(l.ok);
  return l.stack;
}

test("the handler makes /etc/resolv.conf a regular file with the wanted content, over a symlink or a file it cannot rename over", async () => {
  const { host, state } = hostsWith("base", "trixie").find((h) => h.host.stack.endsWith("hetzner.yaml"))!;
  const h = state.handlers!.find((x) => x.run.includes("/etc/resolv.conf"))!;
  // systemctl is what a booted host answers with; here unbound is taken to be up.
  const run = h.run.replace("systemctl is-active -q unbound.service", "true");
  const r = await withHostRoot(host, (root) => root.sh(`
set -u
echo 'nameserver 192.0.2.53' > /run/stub-resolv.conf; ln -sf /run/stub-resolv.conf /etc/resolv.conf
(${h.unless}) && echo "due: no" || echo "due: yes"
${run}
(${h.unless}) && echo "due now: no" || echo "due now: yes"
test -L /etc/resolv.conf && echo symlink || echo regular; cat /etc/resolv.conf | grep -v '^#'
cat /run/stub-resolv.conf
# A bind-mounted resolv.conf (a container's) cannot be renamed over: it is written in place.
echo 'nameserver 192.0.2.53' > /tmp/outside; mount --bind /tmp/outside /etc/resolv.conf
${run}; echo "exit $?"
cat /tmp/outside | grep -v '^#'
`));
  assert.match(r.output, /^due: yes$/m, r.output);
  assert.match(r.output, /^due now: no$/m, r.output);
  assert.match(r.output, /^regular\nnameserver 127\.0\.0\.1\nnameserver ::1\noptions trust-ad edns0\nnameserver 192\.0\.2\.53\n/m, r.output);
  assert.match(r.output, /^exit 0\nnameserver 127\.0\.0\.1\nnameserver ::1\noptions trust-ad edns0$/m, r.output);
});

// The tunnel's two sides (stacks/lab-edge.yaml: edge gw 10.201.0.1, box 10.201.0.2), roles/tunnel/forwarding.ts.
const edgeNft = (host: string, release = "bookworm") => hostsWith("base", release).find((h) => h.host.stack.endsWith("lab-edge.yaml") && h.host.host === host)!;
const nftOf = (host: string) => edgeNft(host).state.files.find((f) => f.path === "/etc/nftables.conf")!.content;
/** The rule lines of one chain of one table, comments kept. */
function chain(conf: string, table: string, name: string): string[] {
  const body = conf.slice(conf.indexOf(`table ${table} {`));
  const start = body.indexOf(`  chain ${name} {`);
  assert.ok(start >= 0, `table ${table} has chain ${name}`);
  return body.slice(start, body.indexOf("\n  }", start)).split("\n").slice(1).map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
}

test("a host on no tunnel gets the firewall it had before edges existed, byte for byte (stacks/lab-a.yaml)", () => {
  const { state } = hostsWith("base", "bookworm").find((h) => h.host.stack.endsWith("lab-a.yaml"))!;
  const before = readFileSync(join(__dirname, "../../test/fixtures/nftables/lab-a-mx.conf"), "utf8");
  assert.equal(state.files.find((f) => f.path === "/etc/nftables.conf")!.content, before);
});

test("the edge DNATs the box's ports it does not serve itself to the box's tunnel address, keeping the client's address", () => {
  const conf = nftOf("gw");
  const dnat = chain(conf, "ip podkit_tunnel", "prerouting").slice(1);
  assert.ok(dnat.length > 5, conf);
  for (const rule of dnat) assert.match(rule, /^iifname != "wg-podkit" fib daddr type local (tcp|udp) dport [\d-]+ dnat to 10\.201\.0\.2 comment "forwarded to box: /);
  const ports = dnat.map((r) => r.match(/(tcp|udp) dport ([\d-]+)/)!.slice(1).join("/"));
  // The edge's own SSH and HTTP (ACME, then proxied) stay the edge's; nothing is rewritten at its source.
  for (const own of ["tcp/22", "tcp/80"]) assert.ok(!ports.includes(own), `${own} is the edge's own`);
  for (const fwd of ["tcp/443", "tcp/465", "tcp/587", "tcp/993", "tcp/5222", "tcp/5269"]) assert.ok(ports.includes(fwd), `${fwd} reaches the box`);
  assert.doesNotMatch(conf, /snat|masquerade.*dport/);
  // The edge's input does not accept what it forwards: DNAT'd packets never reach it. Over
  // IPv6, which the tunnel does not carry, each forwarded port answers a reset at once.
  const input = chain(conf, "inet filter", "input");
  assert.ok(!input.some((r) => /dport 443 accept/.test(r)), input.join("\n"));
  const refused6 = input.filter((r) => r.startsWith("meta nfproto ipv6 ")).map((r) => r.match(/(tcp|udp) dport ([\d-]+) reject/)!.slice(1).join("/"));
  assert.deepEqual(refused6, ports, "every forwarded port, and only those, is refused over IPv6");
  assert.ok(input.includes('udp dport 51820 accept comment "WireGuard: the tunnels of box, dialled from their lines"'), input.join("\n"));
});

test("the edge's forward chain passes only forwarded flows and the box's XMPP s2s, which leave masqueraded to the edge's address", () => {
  const conf = nftOf("gw");
  assert.deepEqual(chain(conf, "inet filter", "forward"), [
    "type filter hook forward priority filter; policy drop;",
    'oifname "wg-podkit" tcp flags syn / syn,rst tcp option maxseg size set rt mtu comment "segments that fit the tunnel"',
    "ct state established,related accept",
    "ct state invalid drop",
    'oifname "wg-podkit" ct status dnat accept comment "the ports forwarded to the boxes (table ip podkit_tunnel)"',
    `iifname "wg-podkit" ip saddr 10.201.0.2 oifname != "wg-podkit" tcp dport 5269 accept comment "box's XMPP server-to-server connections, out from this host's address"`,
  ]);
  assert.deepEqual(chain(conf, "ip podkit_tunnel", "postrouting"), [
    "type nat hook postrouting priority srcnat; policy accept;",
    `iifname "wg-podkit" ip saddr 10.201.0.2 oifname != "wg-podkit" masquerade comment "box's own connections leave from this host's address"`,
  ]);
});

test("the box lets SSH in from its edge's tunnel address, marks its XMPP s2s for the tunnel and gives it the tunnel address", () => {
  const conf = nftOf("box");
  const input = chain(conf, "inet filter", "input");
  assert.equal(input.at(-1), `ip saddr 10.201.0.1 tcp dport 22 accept comment "SSH from gw through the tunnel: podkit's jump host"`);
  assert.ok(input.includes('tcp dport 443 accept comment "MTA-STS policy, mail client autoconfig, the member pages (invites, password changes)"'), "the pod's ports as on any host");
  assert.deepEqual(chain(conf, "inet filter", "forward"), ["type filter hook forward priority filter; policy drop;"]);
  assert.deepEqual(chain(conf, "ip podkit_tunnel", "output"), [
    "type route hook output priority mangle; policy accept;",
    'oifname != "lo" tcp dport 5269 meta mark set 201 comment "XMPP server-to-server: out through gw"',
  ]);
  assert.deepEqual(chain(conf, "ip podkit_tunnel", "postrouting"), [
    "type nat hook postrouting priority srcnat; policy accept;",
    `oifname "wg-podkit" ip saddr != 10.201.0.2 masquerade comment "what leaves through the tunnel leaves from this host's tunnel address"`,
  ]);
});

for (const release of RELEASE_CODENAMES) test(`the edge's and the box's rulesets load into a kernel as written (${release})`, async () => {
  for (const host of ["gw", "box"]) {
    const r = await withHostRoot(edgeNft(host, release).host, (root) => root.sh("set -e; nft -f /etc/nftables.conf; nft list table ip podkit_tunnel"));
    assert.equal(r.code, 0, `${host}: ${r.output}`);
    assert.match(r.output, host === "gw" ? /dnat to 10\.201\.0\.2/ : /meta mark set 0x000000c9/, r.output);
  }
});
