// A pod host behind an edge (`hosts.box.edge: gw`): a hackspace box on a line
// that takes no inbound connections, whose public face is a small VPS. The box
// dials a WireGuard tunnel to the edge; the edge forwards the pod's ports to
// the box and relays its mail. Everything about who is whose edge, and which
// tunnel address each host has, is derived here from the stack alone, so the
// roles, DNS, the firewalls and SSH agree.
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import type { Stack } from "./schema";

/** The WireGuard interface on both sides (wg-quick@wg-podkit: /etc/wireguard/wg-podkit.conf). */
export const TUNNEL_INTERFACE = "wg-podkit";
/**
 * The routing table on a box that sends replies (and its outgoing XMPP) back
 * into the tunnel: traffic the edge forwarded arrives with the client's own
 * address, so the box's default route (its home line) would answer it from
 * the wrong address. Chosen clear of Debian's tables (253-255) and common
 * VPN tools' (51820: wg-quick's own default).
 */
export const TUNNEL_TABLE = 201;

/** The secret holding a host's WireGuard private key: generated off the host, like the DKIM key, so a rebuilt side keeps its key. */
export const wireguardKeySecret = (host: string): string => `wireguard-key-${host}`;

/** The edge `host` sits behind, if any. */
export function edgeOf(stack: Stack, host: string): string | undefined {
  return stack.hosts[host]?.edge;
}

/** The hosts whose edge `host` is, in the stack's order. */
export function boxesBehind(stack: Stack, host: string): string[] {
  return Object.keys(stack.hosts).filter((h) => stack.hosts[h].edge === host);
}

export const isEdge = (stack: Stack, host: string): boolean => boxesBehind(stack, host).length > 0;

/** Hosts on the tunnel (edges and their boxes), in the stack's order: the order addresses are given in. */
export function tunnelHosts(stack: Stack): string[] {
  return Object.keys(stack.hosts).filter((h) => edgeOf(stack, h) !== undefined || isEdge(stack, h));
}

/**
 * A host's address inside the tunnel network (`edge.tunnel`): the network's
 * first address for the first tunnel host, and so on, in the stack's order.
 * Stable as long as hosts are not reordered (a key added at the end of
 * `hosts` changes no one's address).
 */
export function tunnelAddress(stack: Stack, host: string): string | undefined {
  const i = tunnelHosts(stack).indexOf(host);
  if (i < 0) return undefined;
  const [net] = stack.edge.tunnel.split("/");
  const n = net.split(".").reduce((a, o) => a * 256 + Number(o), 0) + 1 + i;
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** How many hosts a tunnel network has room for: its addresses less network and broadcast. */
export function tunnelCapacity(cidr: string): number {
  return 2 ** (32 - Number(cidr.split("/")[1])) - 2;
}

/** The prefix length of the tunnel network ("29"), for interface addresses. */
export const tunnelPrefix = (stack: Stack): string => stack.edge.tunnel.split("/")[1];

/** A new WireGuard private key: Curve25519, base64 of the 32 raw bytes (what `wg genkey` prints). */
export function newWireguardKey(): string {
  const jwk = generateKeyPairSync("x25519").privateKey.export({ format: "jwk" });
  return Buffer.from(jwk.d!, "base64url").toString("base64");
}

/** The public key of a WireGuard private key (what `wg pubkey` prints). */
export function wireguardPublicKey(privateKey: string): string {
  const d = Buffer.from(privateKey.trim(), "base64");
  if (d.length !== 32) throw new Error("a WireGuard private key is 32 bytes in base64 (`wg genkey`)");
  // Node needs a public half to import a raw private key; it is derived on export, so any 32 bytes do.
  const key = createPrivateKey({ key: { kty: "OKP", crv: "X25519", d: d.toString("base64url"), x: Buffer.alloc(32).toString("base64url") }, format: "jwk" });
  return Buffer.from(createPublicKey(key).export({ format: "jwk" }).x!, "base64url").toString("base64");
}
