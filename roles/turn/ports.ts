// The ports calls reach the pod's TURN server on, written once: the role's
// firewall declaration, its health check, turnserver.conf and Prosody's
// turn_external settings (role xmpp) all read these.
export const TURN_PORTS = {
  turn: 3478, turnTls: 5349,
  // coturn's default relay range, configured explicitly (min-port/max-port) so the firewall matches it.
  relay: [49152, 65535] as [number, number],
} as const;
