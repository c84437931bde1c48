// How podkit reaches a host over SSH: what its kind says (lib/stack/host-provider.ts),
// and for a box behind an edge (`hosts.box.edge: gw`), through the edge: SSH to
// the edge (its own pinned key and login), then from there to the box's
// address inside the tunnel, port 22 (sshd's own port: `existing.ssh.port` is
// for a port forward on the box's router, which the tunnel does not pass).
// The box's own address (its kind's: the LAN address of an existing box, the
// lab box's on its NAT'd segment) stays as the direct way in, tried once when
// the tunnel does not answer: before the box's first apply there is no tunnel.
import { edgeOf, tunnelAddress } from "../stack/edge";
import type { SshTarget } from "../stack/host-provider";
import type { Pod } from "../stack/pod";
import type { Stack } from "../stack/schema";
import type { HostTarget } from "../ssh/connect";

/** The port sshd listens on inside a tunnel: Debian's, which podkit never changes. */
export const TUNNEL_SSH_PORT = 22;

/** The target of `host`, through its edge when it has one; a string says why podkit cannot reach it. */
export function hostTarget(pod: Pod, host: string, opts: { identity?: string }): HostTarget | string {
  const { stack } = pod;
  const own = pod.hosts[host].target(stack, host, opts);
  if (typeof own === "string") return own;
  const edge = edgeOf(stack, host);
  if (edge === undefined) return { name: host, ...own };
  const jump = pod.hosts[edge]?.target(stack, edge, opts) ?? `host ${edge} is not available to this command`;
  if (typeof jump === "string") return `podkit reaches ${host} through its edge ${edge}, and cannot reach ${edge}: ${jump}`;
  return throughEdge(stack, host, own, { name: edge, ...jump });
}

/** A box's target: through `edge` to its tunnel address, with its own address as the direct way in. */
export function throughEdge(stack: Stack, host: string, own: SshTarget, edge: HostTarget): HostTarget {
  const address = tunnelAddress(stack, host);
  if (!address) throw new Error(`${host} has an edge but no tunnel address`);
  return { name: host, ...own, address, port: TUNNEL_SSH_PORT, via: edge, direct: { address: own.address, port: own.port } };
}
