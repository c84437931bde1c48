// The ports a host of the pod must accept: what the roles it runs declare.
// One list for every firewall podkit writes: the Hetzner Cloud firewall
// (created by `pulumi up`) and the base role's nftables rules on the host.
// Everything not in this list stays closed; outbound traffic is not filtered here.
import { registeredRoles } from "../converge/registry";
import type { PortOrRange, RoleName, RolePort } from "../converge/role";
import type { Stack } from "./schema";

export type PodPort = Omit<RolePort, "adminsOnly" | "port" | "range"> & PortOrRange & {
  /** The role that opens it. */
  role: RoleName;
  /** Source networks allowed; absent means anywhere. Only admins' ports are ever limited (admin.sshFrom). */
  from?: string[];
};

/** Exactly the ports `host` must accept for the roles it runs, admins' ports limited to admin.sshFrom when given. */
export function podPorts(stack: Stack, host: string): PodPort[] {
  if (!stack.hosts[host]) throw new Error(`no host "${host}" in pod ${stack.pod}`);
  const admins = stack.admin.sshFrom?.length ? [...stack.admin.sshFrom] : undefined;
  return registeredRoles().filter((r) => r.appliesTo(stack, host)).flatMap((role) => role.ports.map(({ adminsOnly, ...p }) =>
    ({ ...p, role: role.name, ...(adminsOnly && admins ? { from: admins } : {}) }) as PodPort));
}

/** "25" or "49152-65535": how firewalls (Hetzner, nftables) write a port or range. */
export function portSpec(p: PodPort): string {
  return p.range ? `${p.range[0]}-${p.range[1]}` : String(p.port);
}
