// The ports a host of the pod must accept: what the roles it runs declare,
// and on an edge also the ports of the boxes behind it that it forwards.
// One list for every firewall podkit writes: the Hetzner Cloud firewall
// (created by `pulumi up`) and the base role's nftables rules on the host.
// Everything not in this list stays closed; outbound traffic is not filtered here.
import { registeredRoles } from "../converge/registry";
import { rolePorts, type PortOrRange, type RoleName, type RolePort } from "../converge/role";
import { boxesBehind } from "./edge";
import type { Stack } from "./schema";

export type PodPort = Omit<RolePort, "adminsOnly" | "port" | "range"> & PortOrRange & {
  /** The role that opens it (on a forwarded port: the box's role). */
  role: RoleName;
  /** Source networks allowed; absent means anywhere. Only admins' ports are ever limited (admin.sshFrom). */
  from?: string[];
  /**
   * The box behind this edge that the port is forwarded to (through the tunnel,
   * the client's address kept: roles/tunnel/forwarding.ts); absent for the
   * host's own ports. The Hetzner firewall lets it in like any other; nftables
   * rewrites it to the box before the host's own input rules see it.
   */
  forwardTo?: string;
};

/** Exactly the ports `host` must accept: its roles', admins' ports limited to admin.sshFrom when given; on an edge, then the ones it forwards. */
export function podPorts(stack: Stack, host: string): PodPort[] {
  if (!stack.hosts[host]) throw new Error(`no host "${host}" in pod ${stack.pod}`);
  return [...ownPorts(stack, host), ...boxesBehind(stack, host).flatMap((box) => forwardedPorts(stack, host, box))];
}

function ownPorts(stack: Stack, host: string): PodPort[] {
  const admins = stack.admin.sshFrom?.length ? [...stack.admin.sshFrom] : undefined;
  return registeredRoles().filter((r) => r.appliesTo(stack, host)).flatMap((role) => rolePorts(role, stack, host).map(({ adminsOnly, ...p }) =>
    ({ ...p, role: role.name, ...(adminsOnly && admins ? { from: admins } : {}) }) as PodPort));
}

/**
 * The box's ports its edge forwards: every port of the box's roles that the
 * edge does not serve itself. The edge keeps its own SSH (22: the box's is
 * reached through the tunnel), its HTTP (80: ACME, and the rest proxied to
 * the box) and, with its relay, SMTP (25: the backup MX queues when the box
 * is away); a port both declared can only be one host's.
 */
function forwardedPorts(stack: Stack, edge: string, box: string): PodPort[] {
  const served = new Set(ownPorts(stack, edge).map((p) => `${p.protocol}/${portSpec(p)}`));
  return ownPorts(stack, box)
    .filter((p) => !served.has(`${p.protocol}/${portSpec(p)}`))
    .map((p) => ({ ...p, why: `forwarded to ${box}: ${p.why}`, forwardTo: box }));
}

/** "25" or "49152-65535": how firewalls (Hetzner, nftables) write a port or range. */
export function portSpec(p: Pick<PodPort, "port" | "range">): string {
  return p.range ? `${p.range[0]}-${p.range[1]}` : String(p.port);
}
