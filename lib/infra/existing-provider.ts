// Hosts that already exist (bare metal in a hackspace, a VPS elsewhere), for
// `podkit apply`: everything is in the stack file, nothing is looked up.
import type { HostProvider } from "../stack/host-provider";
import type { HostProfile } from "../stack/profile";

/**
 * A machine of its own: bare metal or a VM, which the stack does not say and no
 * role needs to know; IPv6 on (listening on `::` costs nothing where no route
 * exists); the public DNS, resolved by each daemon from the root.
 */
export const EXISTING_PROFILE: HostProfile = { virtualization: "none", ipv6: true, localRanges: [], firewall: true, release: "bookworm" };

export const existingProvider: HostProvider = {
  kind: "existing",
  locate(stack, host) {
    const e = stack.hosts[host].existing!;
    return { addresses: { ipv4: e.address, ipv6: e.address6 } };
  },
  target(stack, host, { identity }) {
    const e = stack.hosts[host].existing!;
    // Validation refused an existing host without a pinned key.
    return { address: e.ssh.host ?? e.address, port: e.ssh.port, user: e.ssh.user, hostKey: e.hostKey!, privateKeyPath: identity };
  },
  profile: () => EXISTING_PROFILE,
};
