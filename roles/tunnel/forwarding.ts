// What the base role's nftables.conf adds on the tunnel's two sides
// (roles/base/templates/etc/nftables.conf, its `edge` and `box` sections).
//
// An edge DNATs the ports it forwards (lib/stack/ports.ts: the box's ports it
// does not serve itself) to the box's tunnel address: the client's address is
// kept, so the box's daemons log, screen, rate-limit and ban the real client.
// Its forward chain lets exactly those through, and the boxes' outgoing XMPP
// server-to-server connections out, masqueraded to the edge's own address.
//
// A box marks its outgoing server-to-server connections for the tunnel's
// routing table (the policy rules are wg-podkit.conf's), masquerades them to its
// tunnel address (the only source the edge accepts from it), and lets SSH in
// from the edge's tunnel address: podkit's jump host.
import { isIP } from "node:net";
import { boxesBehind, edgeOf, TUNNEL_INTERFACE, TUNNEL_TABLE, tunnelAddress } from "../../lib/stack/edge";
import { podPorts, portSpec } from "../../lib/stack/ports";
import type { Stack } from "../../lib/stack/schema";
import { XMPP_PORTS } from "../xmpp/ports";

/** What a box sends out through its edge rather than its own line: XMPP server-to-server, so it leaves from the address the pod's names resolve to. */
export const EGRESS = { protocol: "tcp", port: XMPP_PORTS.server } as const;

export interface EdgeFirewall {
  interface: string;
  /** One DNAT rule per forwarded port, with its reason. */
  forwards: { rule: string; why: string }[];
  /** The same ports refused at once over IPv6, which the tunnel does not carry. */
  refused6: { rule: string; why: string }[];
  boxes: { name: string; address: string }[];
  egress: typeof EGRESS;
}

export interface BoxFirewall {
  interface: string;
  address: string;
  edge: string;
  edgeAddress: string;
  table: number;
  egress: typeof EGRESS;
}

/** The edge's forwarding, or false on a host that is no one's edge. */
export function edgeFirewall(stack: Stack, host: string): EdgeFirewall | false {
  const boxes = boxesBehind(stack, host);
  if (!boxes.length) return false;
  const forwarded = podPorts(stack, host).filter((p) => p.forwardTo);
  const forwards = forwarded.flatMap((p) => {
    // The tunnel carries IPv4 only: an IPv6-only source list forwards nothing.
    const v4 = p.from?.filter((c) => isIP(c.split("/")[0]) === 4);
    if (v4 && !v4.length) return [];
    const from = v4 ? `ip saddr { ${v4.join(", ")} } ` : "";
    // Only what comes from outside to this host's own addresses: not the tunnel's traffic, not transit.
    return [{ rule: `iifname != "${TUNNEL_INTERFACE}" fib daddr type local ${from}${p.protocol} dport ${portSpec(p)} dnat to ${tunnelAddress(stack, p.forwardTo!)}`, why: p.why }];
  });
  // The box's names resolve to the edge's IPv6 address too (its own services, Postfix on
  // 25 first, answer there): a client reaching a forwarded port over IPv6 is told no at
  // once (a reset, not silence), so it tries the IPv4 address straight away.
  const refused6 = forwarded.filter((p) => !p.from || p.from.some((c) => isIP(c.split("/")[0]) === 6)).map((p) => ({
    rule: `meta nfproto ipv6 ${p.protocol} dport ${portSpec(p)} reject${p.protocol === "tcp" ? " with tcp reset" : ""}`,
    why: `forwarded to ${p.forwardTo} over IPv4 only: the tunnel carries no IPv6`,
  }));
  return { interface: TUNNEL_INTERFACE, forwards, refused6, boxes: boxes.map((b) => ({ name: b, address: tunnelAddress(stack, b)! })), egress: EGRESS };
}

/** The box's side, or false on a host behind no edge. */
export function boxFirewall(stack: Stack, host: string): BoxFirewall | false {
  const edge = edgeOf(stack, host);
  if (edge === undefined) return false;
  return { interface: TUNNEL_INTERFACE, address: tunnelAddress(stack, host)!, edge, edgeAddress: tunnelAddress(stack, edge)!, table: TUNNEL_TABLE, egress: EGRESS };
}
