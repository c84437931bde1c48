// What coturn may relay, as the turn role writes it: never to a special-purpose
// block (loopback, private, link-local and cloud metadata, documentation,
// multicast, NAT64, 6to4, ...) nor to the host's own addresses; TCP relays only
// when the stack asks; quotas and bandwidth caps; its secret its own. The
// start script is run for real with a fake `ip` (the host's addresses) and a
// fake `turnserver` that prints what it was started with.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { loadStackFile } from "../../lib/stack/load";
import type { HostProfile } from "../../lib/stack/profile";
import type { Stack } from "../../lib/stack/schema";
import { turn } from "../../roles/turn/role";
import { xmpp } from "../../roles/xmpp/role";
import { profileOf } from "./host-profiles";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
if (!loaded.ok) throw new Error("stacks/lab-a.yaml does not load");
const labStack: Stack = loaded.stack;
const secrets: Record<string, string> = { "turn-secret": "the-turn-secret-0123456789", "dkim-key": "the-dkim-key", "password-salt": "salt-key" };

/** The files roles xmpp and turn write on `host` (each only where it runs). */
function render(stack: Stack, profile: Partial<HostProfile> = {}, host = "mx") {
  const ctx = roleContext(stack, host, (n) => secrets[n] ?? `value of ${n}`, { ...profileOf(stack, host), ...profile });
  const files = [xmpp, turn].filter((r) => r.appliesTo(stack, host)).flatMap((r) => r.state(ctx).files);
  return (path: string) => files.find((f) => f.path === path)!.content;
}

const conf = render(labStack)("/etc/turnserver.conf");
const denied = [...conf.matchAll(/^denied-peer-ip=(.*)$/gm)].map((m) => m[1]);

test("turnserver.conf denies loopback, metadata, private and every other special-purpose block, in both families", () => {
  for (const range of [
    "127.0.0.0-127.255.255.255", "169.254.0.0-169.254.255.255", "10.0.0.0-10.255.255.255", "172.16.0.0-172.31.255.255",
    "192.168.0.0-192.168.255.255", "100.64.0.0-100.127.255.255", "0.0.0.0-0.255.255.255", "192.0.0.0-192.0.0.255",
    "192.0.2.0-192.0.2.255", "192.88.99.0-192.88.99.255", "198.18.0.0-198.19.255.255", "198.51.100.0-198.51.100.255",
    "203.0.113.0-203.0.113.255", "224.0.0.0-239.255.255.255", "240.0.0.0-255.255.255.255",
    "::1", "::ffff:0:0-::ffff:ffff:ffff", "64:ff9b::-64:ff9b::ffff:ffff", "64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
    "100::-100::ffff:ffff:ffff:ffff", "2001::-2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
    "2002::-2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ff00::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
  ]) assert.ok(denied.includes(range), `denied-peer-ip=${range}`);
  // Even the lab's own network is denied here: the start script allows it back.
  assert.doesNotMatch(conf, /^allowed-peer-ip/m);
  assert.match(conf, /^no-multicast-peers$/m);
});

test("TCP relays are off unless the stack asks for them", () => {
  assert.match(conf, /^no-tcp-relay$/m);
  const asked = structuredClone(labStack);
  asked.chat!.turn.tcpRelay = true;
  assert.doesNotMatch(render(asked)("/etc/turnserver.conf"), /no-tcp-relay/);
});

test("one credential and the whole pod have allocation quotas and bandwidth caps", () => {
  for (const key of ["user-quota", "total-quota", "max-bps", "bps-capacity"]) {
    const m = new RegExp(`^${key}=(\\d+)$`, "m").exec(conf);
    assert.ok(m && Number(m[1]) > 0, `${key} set to a positive number`);
  }
});

test("coturn's shared secret is the pod's own turn-secret, not something derived from the DKIM key", () => {
  assert.match(conf, /^static-auth-secret=the-turn-secret-0123456789$/m);
  assert.match(render(labStack)("/etc/prosody/prosody.cfg.lua"), /^turn_external_secret = "the-turn-secret-0123456789"$/m);
});

/** Runs the start script with a fake `ip` answering `addrs` and a fake `turnserver` that prints its arguments. */
function start(localRanges: string[], addrs: string[], stack = labStack, host = "mx"): string[] {
  const dir = mkdtempSync(join(tmpdir(), "podkit-coturn-"));
  const script = join(dir, "podkit-coturn");
  writeFileSync(script, render(stack, { localRanges }, host)("/usr/local/sbin/podkit-coturn"));
  const ip = join(dir, "ip");
  writeFileSync(ip, `#!/bin/sh\ncat <<'EOF'\n${addrs.map((a, i) => `${i + 2}: host0    inet${a.includes(":") ? "6" : ""} ${a}/${a.includes(":") ? 64 : 24} scope global host0`).join("\n")}\nEOF\n`);
  const turnserver = join(dir, "turnserver");
  writeFileSync(turnserver, `#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n`);
  for (const f of [script, ip, turnserver]) chmodSync(f, 0o755);
  return execFileSync("sh", [script], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" }).trim().split("\n");
}

test("coturn starts with the host's own addresses denied, on a public host", () => {
  const args = start([], ["203.0.113.7", "2001:db8:7::1"]);
  assert.deepEqual(args.slice(0, 3), ["-c", "/etc/turnserver.conf", "--pidfile="]);
  assert.deepEqual(args.slice(3), ["--denied-peer-ip=203.0.113.7", "--denied-peer-ip=2001:db8:7::1"]);
});

test("in the lab, the peers' private network is allowed back, less the host's own address in it", () => {
  const args = start(["10.0.0.0/8"], ["10.77.0.11"]);
  assert.deepEqual(args.slice(3), [
    "--denied-peer-ip=10.77.0.11",
    "--allowed-peer-ip=10.0.0.0-10.77.0.10",
    "--allowed-peer-ip=10.77.0.12-10.255.255.255",
  ]);
  // An address outside the range leaves it whole.
  assert.deepEqual(start(["10.0.0.0/8"], ["192.0.2.1"]).slice(3), ["--denied-peer-ip=192.0.2.1", "--allowed-peer-ip=10.0.0.0-10.255.255.255"]);
});

test("on an edge, coturn never relays into the tunnel to the boxes behind it, even where the profile allows the private range back", () => {
  const edgeLoaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-edge.yaml"));
  if (!edgeLoaded.ok) throw new Error("stacks/lab-edge.yaml does not load");
  // The lab's edge: its address on the lab bridge and its tunnel address (10.201.0.0/29: edge .1, box .2).
  const args = start(["10.0.0.0/8"], ["10.77.0.14", "10.201.0.1"], edgeLoaded.stack, "gw");
  const tunnel = ["10.201.0.0", "10.201.0.1", "10.201.0.2", "10.201.0.3", "10.201.0.4", "10.201.0.5", "10.201.0.6", "10.201.0.7"];
  for (const a of tunnel) assert.ok(args.includes(`--denied-peer-ip=${a}`), `the tunnel's ${a} is denied`);
  const allowed = args.filter((a) => a.startsWith("--allowed-peer-ip=")).map((a) => a.slice("--allowed-peer-ip=".length));
  assert.deepEqual(allowed, ["10.0.0.0-10.77.0.13", "10.77.0.15-10.200.255.255", "10.201.0.8-10.255.255.255"]);
});
