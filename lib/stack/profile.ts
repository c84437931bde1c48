// What a role may know about the machine it renders for, as facts: what kind
// of machine it is, its network, its resolver. Each kind of host (see
// ./host-provider.ts) says what its hosts are; roles read the facts and never
// ask which kind of host they are on, so a new kind of host needs no role edit.

export interface HostProfile {
  /**
   * What the host runs on. A container's clock belongs to the machine outside
   * it (systemd-timesyncd refuses to run there: ConditionVirtualization=!container).
   */
  virtualization: "container" | "vm" | "none";
  /** The host has an IPv6 network: daemons listen on `::` as well as on IPv4. */
  ipv6: boolean;
  /**
   * A resolver on the host's network that the host's own resolver (unbound, role
   * base) forwards every question to, the private zones it must accept from it
   * (unbound refuses the reserved ones, such as "test", by default), and whether
   * it passes DNSSEC records through (`dnssec`: a validating resolver behind one
   * that strips signatures finds every signed name bogus, so validation goes off).
   * Absent: the host resolves from the root itself, validating.
   */
  resolver?: { address: string; privateZones: string[]; dnssec: boolean };
  /**
   * Private address blocks (from RFC 1918 and friends, as CIDR: "10.0.0.0/8") that
   * are the host's own network, where its users' peers live: TURN may relay there.
   */
  localRanges: string[];
  /**
   * The host can load its own packet filter (nftables). An unprivileged
   * container often cannot: then the machine outside it must firewall it.
   */
  firewall: boolean;
  /**
   * The data volume's block device (formatted ext4), when the host has one: the
   * base role mounts it where the pod keeps mail, chat and backup data.
   */
  dataVolume?: string;
  /**
   * The Debian release the host runs, by codename ("trixie"): one of
   * ./releases.ts, whose daemons' config syntax the roles render for (Dovecot
   * 2.4 on trixie, 2.3 on bookworm). Any other release is refused.
   */
  release: string;
  /**
   * The kernel has no WireGuard module, and tunnels (role tunnel) run in
   * userspace with Debian's wireguard-go, which wg-quick falls back to. The lab's
   * hosts (its kernel lacks the module); real hosts have it in the kernel.
   */
  wireguardUserspace?: boolean;
}

/** The facts of a profile that podkit finds out on the host, and that a stack may declare for an existing host. */
export type DetectableFacts = Pick<HostProfile, "virtualization" | "ipv6" | "firewall" | "release">;

/** Whether the host keeps its own clock (and so runs systemd-timesyncd). */
export const keepsOwnClock = (p: HostProfile): boolean => p.virtualization !== "container";
