// Hosts that already exist (bare metal in a hackspace, a VPS elsewhere), for
// `podkit apply`: where they are and how to log in is in the stack file; what
// they are, `podkit apply` asks the host (lib/converge/host-facts.ts).
import type { HostProvider } from "../stack/host-provider";
import type { DetectableFacts, HostProfile } from "../stack/profile";
import type { Stack } from "../stack/schema";

/**
 * An existing host before anything looked at it: a machine of its own with
 * IPv6 and a firewall; the public DNS, resolved by each daemon from the root.
 * `podkit apply` replaces the guesses with what the host says it is, and the
 * stack's `existing.profile` declares what detection cannot know. Bookworm
 * until told otherwise: the release existing pods were first rendered for.
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
  profile: (stack, host) => {
    const resolver = stack.hosts[host].existing?.profile?.resolver;
    return { ...EXISTING_PROFILE, ...declaredExistingFacts(stack, host), ...(resolver ? { resolver } : {}) };
  },
  declaredFacts: (stack, host) => ({ facts: declaredExistingFacts(stack, host), field: `hosts.${host}.existing.profile` }),
};

/** hosts.<host>.existing.profile, without the keys left out. */
export function declaredExistingFacts(stack: Stack, host: string): Partial<DetectableFacts> {
  const { virtualization, ipv6, firewall, release } = stack.hosts[host].existing?.profile ?? {};
  return Object.fromEntries(Object.entries({ virtualization, ipv6, firewall, release }).filter(([, v]) => v !== undefined));
}
