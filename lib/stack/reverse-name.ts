// The reverse DNS (PTR) of a host's addresses. Receivers check that a sending
// address's PTR names a host whose address is that one, and most also that it
// is the name in the sender's HELO (Postfix's reject_unknown_client_hostname,
// Gmail's and Microsoft's sender rules). The mail host sends as its own name;
// behind an edge the mail leaves from the edge's address, with the mail host's
// name (the MX name, which resolves to the edge) in its HELO. So that edge's
// PTR is the mail host's name; any other host's is its own.
import { hostFqdn } from "./derive";
import { edgeOf } from "./edge";
import type { Stack } from "./schema";

export function reverseName(stack: Stack, host: string): string {
  const mail = stack.mail?.host;
  if (mail !== undefined && edgeOf(stack, mail) === host) return hostFqdn(stack, mail);
  return hostFqdn(stack, host);
}
