// The ports chat clients, servers and calls reach the pod on, written once:
// the role's firewall declaration, its SRV records, its health checks,
// prosody.cfg.lua and turnserver.conf all read these.
export const XMPP_PORTS = {
  client: 5222, clientTls: 5223, server: 5269, serverTls: 5270,
  upload: 5281,
  turn: 3478, turnTls: 5349,
  // coturn's default relay range, configured explicitly (min-port/max-port) so the firewall matches it.
  relay: [49152, 65535] as [number, number],
} as const;
