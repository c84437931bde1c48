// The ports a host of the pod must accept, derived from the roles it runs. One
// list for every firewall podkit writes: the Hetzner Cloud firewall (created by
// `pulumi up`) and the base role's nftables rules on the host. Everything not in
// this list stays closed; outbound traffic is not filtered here.
import { XMPP_PORTS } from "../dns/plan";
import { rolesByHost, type RoleName } from "./derive";
import type { Stack } from "./schema";

export type PodPort = {
  protocol: "tcp" | "udp";
  /** Short name of what listens: "smtp", "imaps", "turn", ... */
  service: string;
  /** The role that opens it. */
  role: RoleName;
  /** Why it is open, for firewall rule descriptions and `podkit plan`. */
  why: string;
  /** Source networks allowed; absent means anywhere. Only SSH is ever limited (admin.sshFrom). */
  from?: string[];
} & ({ port: number; range?: never } | { range: [number, number]; port?: never });

/** Ports each role opens, in role order. */
const ROLE_PORTS: Record<RoleName, Omit<PodPort, "role">[]> = {
  base: [{ protocol: "tcp", port: 22, service: "ssh", why: "SSH for admins and podkit (keys only)" }],
  // Every host gets certificates (the tls role runs everywhere), obtained with
  // ACME http-01 on port 80; the same port redirects browsers to https.
  tls: [{ protocol: "tcp", port: 80, service: "http", why: "ACME http-01 challenges and the redirect to https" }],
  web: [{ protocol: "tcp", port: 443, service: "https", why: "MTA-STS policy and mail client autoconfig" }],
  mail: [
    { protocol: "tcp", port: 25, service: "smtp", why: "mail from other servers (MX)" },
    { protocol: "tcp", port: 465, service: "submissions", why: "mail clients send over implicit TLS (RFC 8314)" },
    { protocol: "tcp", port: 587, service: "submission", why: "mail clients send with STARTTLS" },
    { protocol: "tcp", port: 993, service: "imaps", why: "mail clients read over IMAPS" },
    { protocol: "tcp", port: 4190, service: "managesieve", why: "mail clients edit their filters and vacation replies (ManageSieve, TLS required)" },
  ],
  xmpp: [
    { protocol: "tcp", port: XMPP_PORTS.client, service: "xmpp-client", why: "XMPP clients (STARTTLS)" },
    { protocol: "tcp", port: XMPP_PORTS.clientTls, service: "xmpps-client", why: "XMPP clients over direct TLS (XEP-0368)" },
    { protocol: "tcp", port: XMPP_PORTS.server, service: "xmpp-server", why: "XMPP federation with other servers" },
    { protocol: "tcp", port: XMPP_PORTS.serverTls, service: "xmpps-server", why: "XMPP federation over direct TLS (XEP-0368)" },
    // File upload (XEP-0363) is served by Prosody itself on its HTTPS port,
    // not proxied through nginx on 443: the chat host then needs no web server,
    // and it can be a different host from the mail host (which owns 443).
    { protocol: "tcp", port: 5281, service: "xmpp-upload", why: "file upload and download (Prosody HTTPS, XEP-0363)" },
    { protocol: "tcp", port: 3478, service: "stun-turn", why: "STUN/TURN for audio and video calls (coturn)" },
    { protocol: "udp", port: 3478, service: "stun-turn", why: "STUN/TURN for audio and video calls (coturn)" },
    { protocol: "tcp", port: 5349, service: "turns", why: "TURN over TLS, for calls from restrictive networks" },
    // coturn's default relay range (min-port/max-port); the xmpp role must
    // configure coturn with exactly this range.
    { protocol: "udp", range: [49152, 65535], service: "turn-relay", why: "media relayed by TURN during calls" },
  ],
  backup: [], // outbound only (SFTP or REST to the target)
};

/** Exactly the ports `host` must accept for the roles it runs, SSH limited to admin.sshFrom when given. */
export function podPorts(stack: Stack, host: string): PodPort[] {
  const roles = rolesByHost(stack)[host];
  if (!roles) throw new Error(`no host "${host}" in pod ${stack.pod}`);
  const ports: PodPort[] = [];
  for (const role of roles) {
    for (const p of ROLE_PORTS[role]) {
      const from = p.service === "ssh" && stack.admin.sshFrom?.length ? [...stack.admin.sshFrom] : undefined;
      ports.push({ ...p, role, ...(from ? { from } : {}) } as PodPort);
    }
  }
  return ports;
}

/** "25" or "49152-65535": how firewalls (Hetzner, nftables) write a port or range. */
export function portSpec(p: PodPort): string {
  return p.range ? `${p.range[0]}-${p.range[1]}` : String(p.port);
}
