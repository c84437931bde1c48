// What a host is, found out on the host itself in the facts round-trip that
// converge makes anyway: what it runs on (systemd-detect-virt), whether it has
// a public IPv6 network, its Debian release, and what a container may forbid
// that roles depend on (loading nftables rules, writing net.* sysctls). The
// script prints raw command output behind "X <what> " prefixes; everything
// else here is pure, so it is tested from recorded outputs of real hosts.
import type { DetectableFacts, HostProfile } from "../stack/profile";
import { releaseNamed, unsupportedRelease } from "../stack/releases";

/** What the detection commands said, before any judgement. */
export interface HostFacts {
  /** systemd-detect-virt's word ("kvm", "lxc", "systemd-nspawn", "none"), or undefined when it could not say. */
  virt?: string;
  /** /etc/os-release: ID, VERSION_ID ("12"), VERSION_CODENAME ("bookworm"). */
  os: { id?: string; version?: string; codename?: string };
  /** `ip -6 -o addr show scope global` lines. */
  ipv6Addresses: string[];
  /** `ip -6 route show default` lines. */
  ipv6DefaultRoutes: string[];
  /**
   * `nft list ruleset` succeeded, or its first error line; undefined while nft
   * is not installed (the base role installs it, and converge looks again).
   */
  nftables?: { ok: true } | { ok: false; error: string };
  /** /proc/sys/net can be written (a kernel parameter a role sets would stick). */
  netSysctl: boolean;
}

/** The lines appended to the facts script: each command's output behind its prefix, and never a failure of the script. */
export const HOST_FACTS_SCRIPT = [
  `printf 'X virt %s\\n' "$(systemd-detect-virt 2>/dev/null)"`,
  `( . /etc/os-release 2>/dev/null; printf 'X os %s %s %s\\n' "\${ID:-?}" "\${VERSION_ID:-?}" "\${VERSION_CODENAME:-?}" )`,
  `ip -6 -o addr show scope global 2>/dev/null | sed 's/^/X addr6 /'`,
  `ip -6 route show default 2>/dev/null | sed 's/^/X route6 /'`,
  `if ! command -v nft >/dev/null 2>&1; then echo 'X nft missing'; elif nft_err=$(nft list ruleset 2>&1 >/dev/null); then echo 'X nft ok'; else printf 'X nft %s\\n' "$(printf '%s' "\${nft_err:-nft failed}" | head -n1)"; fi`,
  `if [ -w /proc/sys/net/core/somaxconn ]; then echo 'X sysctl yes'; else echo 'X sysctl no'; fi`,
];

export function parseHostFacts(output: string): HostFacts | undefined {
  const facts: HostFacts = { os: {}, ipv6Addresses: [], ipv6DefaultRoutes: [], netSysctl: true };
  let seen = false;
  for (const line of output.split("\n")) {
    const m = /^X (\S+) ?(.*)$/.exec(line);
    if (!m) continue;
    seen = true;
    const [, what, rest] = m;
    if (what === "virt") facts.virt = rest.trim() || undefined;
    else if (what === "os") {
      const [id, version, codename] = rest.split(" ").map((w) => (w === "?" ? undefined : w));
      facts.os = { id, version, codename };
    } else if (what === "addr6") facts.ipv6Addresses.push(rest);
    else if (what === "route6") facts.ipv6DefaultRoutes.push(rest);
    else if (what === "nft") facts.nftables = rest === "missing" ? undefined : rest === "ok" ? { ok: true } : { ok: false, error: rest.trim() };
    else if (what === "sysctl") facts.netSysctl = rest.trim() === "yes";
  }
  return seen ? facts : undefined;
}

// systemd-detect-virt --list: the container technologies; every other word but "none" is a VM.
const CONTAINERS = new Set(["openvz", "lxc", "lxc-libvirt", "systemd-nspawn", "docker", "podman", "rkt", "wsl", "proot", "pouch"]);

export function virtualizationOf(virt: string | undefined): HostProfile["virtualization"] | undefined {
  if (!virt) return undefined;
  if (virt === "none") return "none";
  return CONTAINERS.has(virt) ? "container" : "vm";
}

/**
 * A public IPv6 network: a global address that is usable (not deprecated, still
 * in duplicate address detection, or failed it) and not a ULA (fc00::/7, which
 * `ip` also calls "scope global" but nobody outside reaches), and a default route.
 */
export function hasPublicIpv6(facts: HostFacts): boolean {
  const usable = facts.ipv6Addresses.some((line) => {
    const addr = /\binet6 ([0-9a-f:]+)\//i.exec(line)?.[1];
    if (!addr || /^f[cd]/i.test(addr)) return false;
    return !/\b(deprecated|tentative|dadfailed)\b/.test(line);
  });
  return usable && facts.ipv6DefaultRoutes.some((r) => r.startsWith("default"));
}

/** The facts as detected, each undefined where detection could not tell. */
export function detectedFacts(facts: HostFacts): Partial<DetectableFacts> {
  return {
    virtualization: virtualizationOf(facts.virt),
    ipv6: hasPublicIpv6(facts),
    firewall: facts.nftables?.ok,
    release: facts.os.codename,
  };
}

/**
 * The profile a host is rendered with: what its kind says (`base`: the resolver
 * and local ranges, which only the kind knows), what detection found, and what
 * the stack declares on top, because the stack knows what detection cannot (a
 * host that gets IPv6 next week). The release is the exception: what the host
 * runs is what its daemons read configs for, so detection wins; a declared
 * release only says what to render before anything can look (`pulumi up`).
 */
export function profileFromFacts(base: HostProfile, facts: HostFacts | undefined, declared: Partial<DetectableFacts> = {}): HostProfile {
  const found: Partial<DetectableFacts> = facts ? detectedFacts(facts) : {};
  const pick = <K extends "virtualization" | "ipv6" | "firewall">(k: K): DetectableFacts[K] => (declared[k] ?? found[k] ?? base[k]) as DetectableFacts[K];
  return {
    ...base,
    virtualization: pick("virtualization"),
    ipv6: pick("ipv6"),
    firewall: pick("firewall"),
    release: found.release ?? declared.release ?? base.release,
  };
}

/**
 * Why podkit must not touch a host of this profile, or undefined: a Debian
 * release podkit has no checked configs for (bullseye, say, or sid). Said
 * before any role renders, so nothing on the host changes.
 */
export function unsupportedHost(profile: Pick<HostProfile, "release">, facts?: HostFacts): string | undefined {
  if (releaseNamed(profile.release)) return undefined;
  const os = facts?.os.id && facts.os.id !== "debian" ? facts.os.id : "Debian";
  const what = `${os}${facts?.os.version ? ` ${facts.os.version}` : ""} (${profile.release})`;
  return `this host runs ${what}. ${unsupportedRelease(what)}`;
}

/** One line saying what a host is: `Debian 12 (bookworm), container (systemd-nspawn), IPv4 only`. */
export function describeProfile(profile: HostProfile, facts?: HostFacts): string {
  const os = facts?.os.id && facts.os.id !== "debian" ? `${facts.os.id} ${facts.os.version ?? ""}`.trim() : `Debian${facts?.os.version ? ` ${facts.os.version}` : ""}`;
  const type = facts?.virt && facts.virt !== "none" && facts.virt !== profile.virtualization ? ` (${facts.virt})` : "";
  const kind = profile.virtualization === "none" ? "no virtualization" : `${profile.virtualization}${type}`;
  return [
    `${os} (${profile.release})`,
    kind,
    profile.ipv6 ? "IPv4 and IPv6" : "IPv4 only",
    ...(profile.firewall ? [] : ["no firewall of its own"]),
  ].join(", ") + (facts ? "" : " (not probed)");
}

/** What an admin must know once per run about a host of this profile (what podkit leaves to the machine outside). */
export function profileNotes(profile: HostProfile, facts: HostFacts | undefined, openPorts: string[]): string[] {
  const notes: string[] = [];
  if (profile.virtualization === "container") {
    notes.push("time sync is the job of the machine outside this container: podkit installs no systemd-timesyncd here");
  }
  if (!profile.firewall) {
    const why = facts?.nftables && !facts.nftables.ok ? ` (nft list ruleset: ${facts.nftables.error})` : "";
    notes.push(`WARNING: this host cannot load nftables rules${why}, so podkit does not firewall it: `
      + `the machine outside must drop inbound traffic except ${openPorts.join(", ")}`);
  }
  if (facts && !facts.netSysctl) notes.push("kernel parameters (net.* sysctls) are read-only here: they are the outer machine's to set");
  return notes;
}

/**
 * How the profile a host was rendered for differs from what the host is, one
 * sentence per fact the stack leaves to detection, naming the stack field that declares it. Under `pulumi up`
 * an existing host is rendered before anything can look at it: a difference
 * stops the role instead of putting a config for another machine on it. The
 * release counts even when declared: a config for another release's daemons
 * never goes on a host.
 */
export function profileMismatches(rendered: Partial<DetectableFacts> & Omit<DetectableFacts, "release">, facts: HostFacts, declared: Partial<DetectableFacts>, field: string): string[] {
  const found = detectedFacts(facts);
  const release: string[] = [];
  if (found.release && rendered.release && found.release !== rendered.release) {
    release.push(releaseNamed(found.release)
      ? `the host runs ${found.release} but the stack renders it for ${rendered.release}: set ${field}.release: ${found.release}`
      : unsupportedHost({ release: found.release }, facts)!);
  }
  return release.concat((["virtualization", "ipv6", "firewall"] as const)
    // A declared fact is the stack's word against detection (IPv6 that comes next week): it stands.
    .filter((k) => declared[k] === undefined && found[k] !== undefined && found[k] !== rendered[k])
    // A VM and bare metal render alike (roles ask only whether it is a container): not worth stopping for.
    .filter((k) => k !== "virtualization" || (found[k] === "container") !== (rendered[k] === "container"))
    .map((k) => `the host's ${k} is ${JSON.stringify(found[k])} but the stack renders it as ${JSON.stringify(rendered[k])}: set ${field}.${k}: ${JSON.stringify(found[k])}`));
}
