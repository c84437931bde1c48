// The SRV records XMPP clients and servers find the chat host with (RFC 6120
// 3.2.1, XEP-0368 for direct TLS), for every domain and its group chats.
import type { UnplacedRecord } from "../../lib/dns/records";
import { hostFqdn } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";
import { XMPP_PORTS } from "./ports";

export function chatRecords(stack: Stack): UnplacedRecord[] {
  const target = hostFqdn(stack, stack.chat!.host);
  return stack.domains.flatMap((d) => {
    const srv = (service: string, owner: string, port: number, why: string): UnplacedRecord => ({
      id: `srv/${service}.${owner}`, name: `${service}.${owner}`, type: "SRV", priority: 0, weight: 5, port, target, why,
    });
    return [
      srv("_xmpp-client._tcp", d, XMPP_PORTS.client, "XMPP clients (STARTTLS)"),
      srv("_xmpps-client._tcp", d, XMPP_PORTS.clientTls, "XMPP clients (direct TLS, XEP-0368)"),
      srv("_xmpp-server._tcp", d, XMPP_PORTS.server, "XMPP federation"),
      srv("_xmpps-server._tcp", d, XMPP_PORTS.serverTls, "XMPP federation (direct TLS, XEP-0368)"),
      srv("_xmpp-server._tcp", `conference.${d}`, XMPP_PORTS.server, "group chats reachable from other servers"),
    ];
  });
}
