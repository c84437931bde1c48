// Hetzner Cloud servers as the CLI sees them: `pulumi up` creates and converges
// them (lib/infra/hcloud.ts), so their addresses are known only after it and
// `podkit apply` does not reach them.
import type { HostProvider } from "../stack/host-provider";
import type { HostProfile } from "../stack/profile";
import type { Stack } from "../stack/schema";

/** A Hetzner cloud server: a VM with a public IPv6 /64 (Hetzner gives every server one), the public DNS. */
export const HCLOUD_PROFILE: HostProfile = { virtualization: "vm", ipv6: true, localRanges: [], firewall: true, release: "bookworm" };

// Hetzner's Debian images are named by version ("debian-12").
const DEBIAN_CODENAMES: Record<string, string> = { "11": "bullseye", "12": "bookworm", "13": "trixie" };

/** The Debian release a server image installs, by codename. */
export function releaseOfImage(image: string): string {
  const version = /^debian-(\d+)$/.exec(image)?.[1];
  return (version && DEBIAN_CODENAMES[version]) ?? image;
}

export function hcloudProfile(stack: Stack, host: string): HostProfile {
  return { ...HCLOUD_PROFILE, release: releaseOfImage(stack.hosts[host].hcloud?.image ?? "debian-12") };
}

export const hcloudProvider: HostProvider = {
  kind: "hcloud",
  locate: () => ({
    later: "this host is created by `pulumi up`, so its addresses are known only after it: `pulumi stack output zoneFiles` prints the complete zones",
  }),
  target: () => "this host is created and converged by `pulumi up`; `podkit apply` works on existing and lab hosts",
  profile: hcloudProfile,
};
