// The addresses the world reaches each host's names at. A host behind an edge
// (`hosts.box.edge: gw`) sits on a line that takes no inbound connections: the
// address its kind knows (an existing box's `address`, a lab box's address on
// its NAT'd segment) is a LAN address and must never be published. Its names
// resolve to the edge, which forwards the pod's ports through the tunnel.
// MX and SRV records name hosts, so they follow by themselves; SPF's `mx`
// then authorises the edge's addresses too.
import { edgeOf } from "../stack/edge";
import type { Stack } from "../stack/schema";
import type { HostAddresses } from "./plan";

/** By host: the addresses its names resolve to: its own, or its edge's when it has one (none while the edge's are unknown). */
export function publicAddresses(stack: Stack, known: Record<string, HostAddresses>): Record<string, HostAddresses> {
  return Object.fromEntries(Object.keys(stack.hosts).flatMap((host) => {
    const from = edgeOf(stack, host) ?? host;
    return known[from] ? [[host, known[from]]] : [];
  }));
}
