// The tunnel role on stacks/lab-edge.yaml (edge gw, box behind it): each side's
// wg-podkit.conf names the other by its public key, the box dials the edge and
// keeps its default route, the edge listens and routes; the files pass
// wg-quick's own parse in each release's checker root.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { assertChecksPass, checkEdited, hostsWith, RELEASE_CODENAMES } from "../../test/config/role-checks";
import { withHostRoot } from "../../lib/checker/host-root";
import { roleContext } from "../../lib/converge/pod";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { firewallRules } from "../../lib/infra/hcloud";
import { labProfileWithResolver } from "../../lib/lab/provider";
import { loadStackFile } from "../../lib/stack/load";
import { newWireguardKey, wireguardKeySecret, wireguardPublicKey } from "../../lib/stack/edge";
import { podPorts, portSpec } from "../../lib/stack/ports";
import type { HostProfile } from "../../lib/stack/profile";
import { rolesByHost } from "../../lib/stack/derive";
import { tunnel } from "./role";

const loaded = loadStackFile(join(__dirname, "../../stacks/lab-edge.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const keys: Record<string, string> = { gw: newWireguardKey(), box: newWireguardKey() };
const secret = (name: string) => {
  const host = Object.keys(keys).find((h) => wireguardKeySecret(h) === name);
  assert.ok(host, `the tunnel reads only WireGuard keys, not ${name}`);
  return keys[host];
};
const render = (host: string, profile: HostProfile = labProfileWithResolver()) => tunnel.state(roleContext(stack, host, secret, profile));
const file = (state: ReturnType<typeof render>, path: string) => state.files.find((f) => f.path === path);
const config = (host: string, profile?: HostProfile) => file(render(host, profile), "/etc/wireguard/wg-podkit.conf")!;
/** A wg config's lines without comments and blank lines: what wg-quick reads. */
const lines = (text: string) => text.split("\n").filter((l) => l && !l.startsWith("#"));

test("the tunnel runs on the edge and its box, and on no host of a pod without an edge", () => {
  assert.ok(rolesByHost(stack).gw.includes("tunnel"));
  assert.ok(rolesByHost(stack).box.includes("tunnel"));
  const a = loadStackFile(join(__dirname, "../../stacks/lab-a.yaml"));
  assert.ok(a.ok);
  assert.ok(!rolesByHost(a.stack).mx.includes("tunnel"));
});

test("the edge listens on edge.port with its private key and lets the box send only from the box's tunnel address", () => {
  const f = config("gw");
  assert.equal(f.mode, 0o600);
  assert.equal(f.secret, true, "it holds the private key: never in a diff");
  assert.deepEqual(lines(f.content), [
    "[Interface]",
    `PrivateKey = ${keys.gw}`,
    "Address = 10.201.0.1/29",
    "ListenPort = 51820",
    "[Peer]",
    `PublicKey = ${wireguardPublicKey(keys.box)}`,
    "AllowedIPs = 10.201.0.2/32",
  ]);
});

test("the box dials the edge's name with keepalive, takes no default route, and sends its replies and marked packets to table 201", () => {
  const f = config("box");
  assert.deepEqual(lines(f.content), [
    "[Interface]",
    `PrivateKey = ${keys.box}`,
    "Address = 10.201.0.2/29",
    "Table = off",
    "PreUp = while ip rule del table 201 2>/dev/null; do :; done",
    "PostUp = ip rule add from 10.201.0.2 table 201",
    "PostUp = ip rule add fwmark 201 table 201",
    "PostUp = ip route add default dev %i table 201",
    "PreDown = while ip rule del table 201 2>/dev/null; do :; done",
    "[Peer]",
    `PublicKey = ${wireguardPublicKey(keys.gw)}`,
    "AllowedIPs = 0.0.0.0/0",
    "Endpoint = gw.hs.test:51820",
    "PersistentKeepalive = 25",
  ]);
});

test("each side's peer key is the public half of the other side's private key", () => {
  const priv = (host: string) => lines(config(host).content).find((l) => l.startsWith("PrivateKey = "))!.slice(13);
  const peer = (host: string) => lines(config(host).content).find((l) => l.startsWith("PublicKey = "))!.slice(12);
  assert.equal(peer("box"), wireguardPublicKey(priv("gw")));
  assert.equal(peer("gw"), wireguardPublicKey(priv("box")));
});

test("the edge forwards packets and opens the tunnel's port; the box opens none and forwards nothing", () => {
  const gw = render("gw");
  assert.match(file(gw, "/etc/sysctl.d/60-podkit-edge.conf")!.content, /^net\.ipv4\.ip_forward = 1$/m);
  assert.deepEqual(gw.handlers!.find((h) => h.name === "forward packets"), { name: "forward packets", when: ["/etc/sysctl.d/60-podkit-edge.conf"], run: "sysctl -q -p /etc/sysctl.d/60-podkit-edge.conf" });
  assert.equal(file(render("box"), "/etc/sysctl.d/60-podkit-edge.conf"), undefined);
  const udp = (host: string) => podPorts(stack, host).filter((p) => p.role === "tunnel").map((p) => `${p.protocol}/${portSpec(p)}`);
  assert.deepEqual(udp("gw"), ["udp/51820"]);
  assert.deepEqual(udp("box"), []);
  for (const host of ["gw", "box"]) {
    assert.deepEqual(render(host).services, [{ unit: "wg-quick@wg-podkit.service", watch: ["/etc/wireguard/wg-podkit.conf", "/etc/systemd/system/wg-quick@wg-podkit.service.d/"], onChange: "restart" }]);
  }
});

test("wireguard-go and its drop-in only where the profile says the kernel has no WireGuard", () => {
  const lab = render("box");
  assert.ok(lab.packages.includes("wireguard-go"));
  assert.match(file(lab, "/etc/systemd/system/wg-quick@wg-podkit.service.d/userspace.conf")!.content, /^Environment=WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1$/m);
  assert.deepEqual(lab.handlers!.find((h) => h.name === "systemctl daemon-reload")?.when, ["/etc/systemd/system/wg-quick@wg-podkit.service.d/userspace.conf"]);
  const vm = render("box", { ...HCLOUD_PROFILE, release: "trixie" });
  assert.ok(!vm.packages.includes("wireguard-go"));
  assert.ok(vm.packages.includes("wireguard-tools"));
  assert.equal(file(vm, "/etc/systemd/system/wg-quick@wg-podkit.service.d/userspace.conf"), undefined);
  assert.ok(!vm.handlers!.some((h) => h.name === "systemctl daemon-reload"));
});

for (const release of RELEASE_CODENAMES) {
  test(`both sides' wg-podkit.conf pass wg-quick strip and wg pubkey (${release})`, async (t) => {
    await assertChecksPass(t, "tunnel", release);
  });

  test(`wg-quick reads each side's file where it lands without a warning (mode 0600: no "world accessible") (${release})`, async () => {
    for (const { host } of hostsWith("tunnel", release)) {
      const r = await withHostRoot(host, (root) => root.sh("wg-quick strip wg-podkit 2>&1 >/dev/null; stat -c %a /etc/wireguard/wg-podkit.conf"));
      assert.equal(r.output.trim(), "600", `${host.host}: ${r.output}`);
    }
  });

  test(`a damaged private key is refused by wg with its own message (${release})`, async () => {
    const r = await checkEdited("tunnel", "/etc/wireguard/wg-podkit.conf", (c) => c.replace(/^PrivateKey = .{8}/m, "PrivateKey = "), release);
    assert.equal(r.refused, "wg-quick strip", r.output);
    assert.match(r.output, /Key is not the correct length or format/, r.output);
  });
}

test("the edge's Hetzner firewall lets in the ports it forwards, from the same list as nftables", () => {
  const rules = firewallRules(podPorts(stack, "gw"));
  const open = rules.map((r) => `${r.protocol}/${r.port ?? ""}`);
  for (const p of ["udp/51820", "tcp/443", "tcp/993", "tcp/5222", "tcp/80", "tcp/22"]) assert.ok(open.includes(p), `${p} in ${open.join(" ")}`);
  assert.match(String(rules.find((r) => r.port === "993")!.description), /^imaps: forwarded to box: /);
  assert.deepEqual(podPorts(stack, "gw").filter((p) => p.forwardTo).map((p) => p.forwardTo), podPorts(stack, "gw").filter((p) => p.forwardTo).map(() => "box"));
});

test("an edge that cannot load nftables rules is refused before anything changes, naming the host", () => {
  assert.throws(() => render("gw", { ...labProfileWithResolver(), firewall: false }), /host gw is the edge of box but cannot load nftables rules/);
  assert.doesNotThrow(() => render("box", { ...labProfileWithResolver(), firewall: false }), "a box needs no forwarding of its own");
});
