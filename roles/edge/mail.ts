// Who is whose on the mail path through an edge: which box behind an edge is
// the mail host, and the tunnel addresses each side's Postfix names. Read by
// role edge (the edge's main.cf) and role mail (the box's relayhost, XFORWARD
// and postscreen), so both sides agree.
import { boxesBehind, edgeOf, tunnelAddress } from "../../lib/stack/edge";
import { hostFqdn } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";

/** The mail host, when it sits behind edge `host`. */
export function edgeMailHost(stack: Stack, host: string): string | undefined {
  const mailHost = stack.mail?.host;
  return mailHost !== undefined && edgeOf(stack, mailHost) === host ? mailHost : undefined;
}

/** What the edge's main.cf names: the MX name, the mail host's tunnel address, the boxes it relays for. */
export function edgeSmtpView(stack: Stack, host: string) {
  const mailHost = edgeMailHost(stack, host)!;
  return {
    mxName: hostFqdn(stack, mailHost),
    boxAddress: tunnelAddress(stack, mailHost)!,
    boxes: boxesBehind(stack, host).join(", "),
    boxNetworks: boxesBehind(stack, host).map((b) => `${tunnelAddress(stack, b)}/32`).join(" "),
    // The pod's domains and the mail host's own name (its system mail, postmaster).
    relayDomains: [...stack.domains, hostFqdn(stack, mailHost)].join(", "),
  };
}

/** The box's side: the mail host's edge and its tunnel address, or nothing for a mail host without an edge. */
export function mailHostEdge(stack: Stack): { edge: string; address: string } | undefined {
  const mailHost = stack.mail?.host;
  const edge = mailHost === undefined ? undefined : edgeOf(stack, mailHost);
  return edge === undefined ? undefined : { edge, address: tunnelAddress(stack, edge)! };
}
