// The ports chat clients and servers reach the pod on, written once: the
// role's firewall declaration, its SRV records, its health checks and
// prosody.cfg.lua all read these. Calls (TURN) are role turn's: ../turn/ports.ts.
export const XMPP_PORTS = {
  client: 5222, clientTls: 5223, server: 5269, serverTls: 5270,
  upload: 5281,
} as const;
