// Hetzner Cloud servers as the CLI sees them: `pulumi up` creates and converges
// them (lib/infra/hcloud.ts), so their addresses are known only after it and
// `podkit apply` does not reach them.
import type { HostProvider } from "../stack/host-provider";
import type { HostProfile } from "../stack/profile";

/** A Hetzner cloud server: a VM with a public IPv6 /64, the public DNS. */
export const HCLOUD_PROFILE: HostProfile = { virtualization: "vm", ipv6: true, localRanges: [], firewall: true, release: "bookworm" };

export const hcloudProvider: HostProvider = {
  kind: "hcloud",
  locate: () => ({
    later: "this host is created by `pulumi up`, so its addresses are known only after it: `pulumi stack output zoneFiles` prints the complete zones",
  }),
  target: () => "this host is created and converged by `pulumi up`; `podkit apply` works on existing and lab hosts",
  profile: () => HCLOUD_PROFILE,
};
