// The ports the world reaches a host at, for the firewall outside it (the
// Hetzner Cloud firewall). A host's own roles' ports (podPorts); for an edge,
// also every port of the boxes behind it, which it forwards into their tunnels
// (their SMTP and HTTP it serves itself, with its own roles), and the UDP port
// its boxes' WireGuard tunnels arrive on. A box's own SSH is not among them:
// podkit reaches the box through the edge's SSH.
import { boxesBehind, isEdge } from "./edge";
import { podPorts, portSpec, type PodPort } from "./ports";
import type { Stack } from "./schema";

/** The WireGuard port an edge listens on for its boxes' tunnels (`edge.port`). */
export function tunnelPort(stack: Stack): PodPort {
  return { protocol: "udp", port: stack.edge.port, service: "wireguard", role: "tunnel", why: "the WireGuard tunnels its boxes dial in (edge.port)" };
}

/** Every port `host` accepts from outside: its own, and for an edge its boxes' and the tunnel's, each once. */
export function publicPorts(stack: Stack, host: string): PodPort[] {
  const ports = podPorts(stack, host);
  if (!isEdge(stack, host)) return ports;
  const out: PodPort[] = [];
  const key = (p: PodPort) => `${p.protocol}/${portSpec(p)}`;
  const seen = new Set<string>();
  const boxes = boxesBehind(stack, host);
  const forwarded = boxes.flatMap((box) => podPorts(stack, box).map((p) => ({ ...p, why: `forwarded to ${box}: ${p.why}` })));
  for (const p of [...ports, tunnelPort(stack), ...forwarded]) {
    // The edge's own rule wins (its SMTP, its HTTP, its SSH); a box's port of the same number is the same rule.
    if (seen.has(key(p))) continue;
    seen.add(key(p));
    out.push(p);
  }
  return out;
}
