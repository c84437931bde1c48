// The lab's network on the outer machine: one bridge with the gateway address (and a second,
// the hackspace's NAT'd line, for a box behind an edge), NAT
// (masquerade) for the lab subnet only, and a forward filter that lets lab hosts out
// on tcp 80/443 only so a lab pod can never deliver mail or chat to the real world.
// Their apt reaches the mirror through the package cache on the gateway (apt-cache.ts),
// which the input filter lets them reach. ip_forward is saved before it is turned on and
// restored by `down`.
import * as fs from "node:fs";
import { $ } from "./sh";
import { HACKSPACE, LAB, PATHS, SEATS, labHosts } from "./config";

const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
/** Written as the bridge's alias: `down` removes a bridge of that name only if it carries it. */
const BRIDGE_ALIAS = "podkit lab";

function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}

/** True when the IPv4 prefixes a/alen and b/blen share any address. */
export function overlaps(a: string, alen: number, b: string, blen: number): boolean {
  const len = Math.min(alen, blen);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((ipToInt(a) & mask) >>> 0) === ((ipToInt(b) & mask) >>> 0);
}

interface IpAddr { ifname: string; addr_info?: { family: string; local: string; prefixlen: number }[] }
interface IpRoute { dst: string; dev?: string }

/**
 * Why the lab cannot take its bridge and subnet on this machine, or null if it can.
 * Runs before anything is created, so a refusal changes nothing.
 */
export async function networkConflict(): Promise<string | null> {
  for (const segment of [LAB, HACKSPACE]) {
    const conflict = await segmentConflict(segment);
    if (conflict) return conflict;
  }
  return null;
}

/** The lab's bridges: the lab's own and the hackspace's NAT'd line (config.ts). */
const SEGMENTS = [LAB, HACKSPACE];
const configName = (segment: { bridge: string }) => (segment.bridge === LAB.bridge ? "LAB" : "HACKSPACE");

async function segmentConflict(segment: { bridge: string; subnet: string }): Promise<string | null> {
  const [net, len] = segment.subnet.split("/");
  const links = JSON.parse((await $({ quiet: true })`ip -j link show`).stdout) as { ifname: string; ifalias?: string }[];
  const bridge = links.find((l) => l.ifname === segment.bridge);
  if (bridge?.ifalias === BRIDGE_ALIAS) return `the lab's bridge "${segment.bridge}" is left from an earlier lab (a crash?): run \`podkit lab down\` first`;
  if (bridge) return `network interface "${segment.bridge}" already exists and is not the lab's: change ${configName(segment)}.bridge in lib/lab/config.ts`;
  const addrs = JSON.parse((await $({ quiet: true })`ip -j -4 addr show`).stdout) as IpAddr[];
  for (const a of addrs) {
    for (const i of a.addr_info ?? []) {
      if (overlaps(i.local, i.prefixlen, net, Number(len))) {
        return `subnet ${segment.subnet} is already in use on this machine (${a.ifname} has ${i.local}/${i.prefixlen}); change ${configName(segment)}.subnet in lib/lab/config.ts.`;
      }
    }
  }
  const routes = JSON.parse((await $({ quiet: true })`ip -j -4 route show table all`).stdout) as IpRoute[];
  for (const r of routes) {
    if (r.dst === "default" || r.dst === undefined) continue;
    const [rnet, rlen = "32"] = r.dst.split("/");
    if (/^\d+\.\d+\.\d+\.\d+$/.test(rnet) && Number(rlen) > 0 && overlaps(rnet, Number(rlen), net, Number(len))) {
      return `subnet ${segment.subnet} overlaps a route on this machine (${r.dst} via ${r.dev ?? "?"}); change ${configName(segment)}.subnet in lib/lab/config.ts.`;
    }
  }
  return null;
}

/** The nftables table, whole: `down` deletes it in one command. */
export function nftRules(): string {
  // Every address a lab host can have, seats included: seats added to a running lab need no new rules.
  const hosts = labHosts(SEATS.max).map((h) => h.address).join(", ");
  const nat = HACKSPACE.bridge;
  return `table ip ${LAB.nftTable} {
  # Masquerade only what leaves the lab subnet for elsewhere; the hackspace's line is
  # masqueraded wherever it goes, the lab included, as a home router or CGNAT does.
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${LAB.subnet} ip daddr != ${LAB.subnet} masquerade
    ip saddr ${HACKSPACE.subnet} masquerade
  }
  # Out of the lab: http/https only (apt). Mail (25/465/587), XMPP and the rest stay inside.
  chain forward {
    type filter hook forward priority filter; policy accept;
    # Host to host inside the lab. Bridged frames reach this hook too when br_netfilter is
    # loaded (bridge-nf-call-iptables=1, as on this kind of machine), in and out on the bridge.
    iifname "${LAB.bridge}" oifname "${LAB.bridge}" accept
    iifname "${LAB.bridge}" ip saddr { ${hosts} } tcp dport { 80, 443 } accept
    # Nothing opens a connection into the hackspace's line: only replies go in.
    oifname "${nat}" ct state established,related accept
    oifname "${nat}" drop
    iifname "${LAB.bridge}" drop
    # Out of the hackspace's line: anywhere in the lab (the box's tunnel to its edge), and
    # http/https only beyond it.
    iifname "${nat}" oifname "${LAB.bridge}" accept
    iifname "${nat}" tcp dport { 80, 443 } accept
    iifname "${nat}" drop
    oifname "${LAB.bridge}" ct state established,related accept
    oifname "${LAB.bridge}" drop
  }
  # Into the outer machine from the lab: DNS, ACME and the package cache on the gateway, and replies to what we opened.
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "${LAB.bridge}" ct state established,related accept
    iifname "${LAB.bridge}" ip daddr ${LAB.gateway} udp dport 53 accept
    iifname "${LAB.bridge}" ip daddr ${LAB.gateway} tcp dport { 53, ${LAB.acmePort}, ${LAB.aptCachePort} } accept
    iifname "${LAB.bridge}" icmp type { echo-request, destination-unreachable } accept
    iifname "${LAB.bridge}" drop
    # The same from the hackspace's line: the lab's services are its ISP's.
    iifname "${nat}" ct state established,related accept
    iifname "${nat}" udp dport 53 accept
    iifname "${nat}" tcp dport { 53, ${LAB.acmePort}, ${LAB.aptCachePort} } accept
    iifname "${nat}" icmp type { echo-request, destination-unreachable } accept
    iifname "${nat}" drop
  }
}
`;
}

/** Creates the bridge, turns on forwarding (saving the old value) and loads the nft table. */
export async function networkUp(): Promise<void> {
  fs.mkdirSync(PATHS.pids, { recursive: true });
  // Save ip_forward once: after a crash the file is still there and holds the value from before the lab.
  if (!fs.existsSync(PATHS.ipForwardSaved)) fs.writeFileSync(PATHS.ipForwardSaved, fs.readFileSync(IP_FORWARD, "utf8"));
  for (const segment of SEGMENTS) {
    await $({ quiet: true })`ip link add ${segment.bridge} type bridge`;
    await $({ quiet: true })`ip link set ${segment.bridge} alias ${BRIDGE_ALIAS}`;
    await $({ quiet: true })`ip addr add ${segment.gateway}/${segment.prefixLength} dev ${segment.bridge}`;
    await $({ quiet: true })`ip link set ${segment.bridge} up`;
  }
  fs.writeFileSync(IP_FORWARD, "1\n");
  await $({ quiet: true, input: nftRules() })`nft -f -`;
}

/** What is left of the lab network right now (for `status` and the teardown test). */
export async function networkLeftovers(): Promise<string[]> {
  const left: string[] = [];
  const links = JSON.parse((await $({ quiet: true })`ip -j link show`).stdout) as { ifname: string; master?: string; ifalias?: string }[];
  const bridges: string[] = SEGMENTS.map((s) => s.bridge);
  for (const l of links) {
    if (bridges.includes(l.ifname) && l.ifalias === BRIDGE_ALIAS) left.push(`bridge ${l.ifname}`);
    else if (l.master && bridges.includes(l.master)) left.push(`veth ${l.ifname}`);
  }
  const tables = (await $({ quiet: true, nothrow: true })`nft list tables`).stdout;
  if (tables.split("\n").some((t) => t.trim() === `table ip ${LAB.nftTable}`)) left.push(`nft table ip ${LAB.nftTable}`);
  return left;
}

/**
 * Removes veths, bridge and nft table, and restores ip_forward. Each step tolerates "already
 * gone"; an interface of the bridge's name that the lab did not make is left alone.
 */
export async function networkDown(): Promise<void> {
  const links = JSON.parse((await $({ quiet: true })`ip -j link show`).stdout) as { ifname: string; master?: string; ifalias?: string }[];
  for (const { bridge } of SEGMENTS) {
    if (!links.some((l) => l.ifname === bridge && l.ifalias === BRIDGE_ALIAS)) continue;
    for (const l of links.filter((x) => x.master === bridge)) await $({ quiet: true, nothrow: true })`ip link del ${l.ifname}`;
    await $({ quiet: true })`ip link del ${bridge}`;
  }
  await $({ quiet: true, nothrow: true })`nft delete table ip ${LAB.nftTable}`;
  if (fs.existsSync(PATHS.ipForwardSaved)) {
    fs.writeFileSync(IP_FORWARD, fs.readFileSync(PATHS.ipForwardSaved, "utf8"));
    fs.rmSync(PATHS.ipForwardSaved);
  }
}
