// Hetzner Cloud servers as the CLI sees them: `pulumi up` creates and converges
// them (lib/infra/hcloud.ts), so their addresses are known only after it and
// `podkit apply` does not reach them.
import type { HostProvider } from "../stack/host-provider";
import type { HostProfile } from "../stack/profile";
import type { Stack } from "../stack/schema";
import { NEWEST_RELEASE, releaseOfImage as releaseOf, unsupportedRelease } from "../stack/releases";

/** A Hetzner cloud server: a VM with a public IPv6 /64 (Hetzner gives every server one), the public DNS, the newest release. */
export const HCLOUD_PROFILE: HostProfile = { virtualization: "vm", ipv6: true, localRanges: [], firewall: true, release: NEWEST_RELEASE.codename };

/** The Debian release a server image installs, by codename; an image podkit renders for no release of is an error (validation refuses it first). */
export function releaseOfImage(image: string): string {
  const release = releaseOf(image);
  if (!release) throw new Error(unsupportedRelease(`the image "${image}"`));
  return release.codename;
}

export function hcloudProfile(stack: Stack, host: string): HostProfile {
  return { ...HCLOUD_PROFILE, release: releaseOfImage(stack.hosts[host].hcloud?.image ?? NEWEST_RELEASE.image) };
}

export const hcloudProvider: HostProvider = {
  kind: "hcloud",
  locate: () => ({
    later: "this host is created by `pulumi up`, so its addresses are known only after it: `pulumi stack output zoneFiles` prints the complete zones",
  }),
  target: () => "this host is created and converged by `pulumi up`; `podkit apply` works on existing and lab hosts",
  profile: hcloudProfile,
};
