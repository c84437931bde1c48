// Where coturn may relay to. A TURN server sends packets from its own address
// to any peer a member names: without limits it is a way into the host's
// loopback, its cloud's metadata service (169.254.169.254), its private
// network, and, through its own public address, into services that trust the
// host itself (Postfix relays for its own addresses). So every
// special-purpose block of the IANA IPv4 and IPv6 Special-Purpose Address
// Registries is denied (https://www.iana.org/assignments/iana-ipv4-special-registry,
// https://www.iana.org/assignments/iana-ipv6-special-registry), the host's own
// addresses are denied when coturn starts (podkit-coturn: only the host knows
// them), and only the private IPv4 blocks a host's profile calls its own
// network (the lab's 10.0.0.0/8, where its peers are) are allowed back,
// less the host's own addresses in them.
import { cidrRange } from "../../lib/stack/cidr";

/** Blocks no call has a peer in, as CIDR, with what they are. */
export const SPECIAL_PURPOSE_BLOCKS: [cidr: string, what: string][] = [
  ["0.0.0.0/8", "this network"],
  ["10.0.0.0/8", "private (RFC 1918)"],
  ["100.64.0.0/10", "shared address space (carrier-grade NAT)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local, and cloud metadata services (169.254.169.254)"],
  ["172.16.0.0/12", "private (RFC 1918)"],
  ["192.0.0.0/24", "IETF protocol assignments"],
  ["192.0.2.0/24", "documentation (TEST-NET-1)"],
  ["192.88.99.0/24", "6to4 relay anycast"],
  ["192.168.0.0/16", "private (RFC 1918)"],
  ["198.18.0.0/15", "benchmarking"],
  ["198.51.100.0/24", "documentation (TEST-NET-2)"],
  ["203.0.113.0/24", "documentation (TEST-NET-3)"],
  ["224.0.0.0/4", "multicast"],
  ["240.0.0.0/4", "reserved, and the limited broadcast 255.255.255.255"],
  ["::/128", "unspecified"],
  ["::1/128", "loopback"],
  ["::ffff:0:0/96", "IPv4-mapped: the IPv4 blocks above, written as IPv6"],
  ["64:ff9b::/96", "NAT64, to any IPv4 address"],
  ["64:ff9b:1::/48", "local-use NAT64"],
  ["100::/64", "discard-only"],
  ["2001::/23", "IETF protocol assignments (Teredo, ORCHID, ...)"],
  ["2001:db8::/32", "documentation"],
  ["2002::/16", "6to4: IPv4 behind IPv6"],
  ["fc00::/7", "unique local"],
  ["fe80::/10", "link-local"],
  ["ff00::/8", "multicast"],
];

/** coturn's denied-peer-ip lines: every special-purpose block, as first-last. */
export function deniedPeerRanges(): { range: string; what: string }[] {
  return SPECIAL_PURPOSE_BLOCKS.map(([cidr, what]) => {
    const { first, last } = cidrRange(cidr);
    return { range: first === last ? first : `${first}-${last}`, what: `${cidr}: ${what}` };
  });
}

/**
 * The profile's local IPv4 ranges as numbers, for podkit-coturn to allow less
 * the host's own addresses. An IPv6 local range is not relayed to: no host
 * kind has one, and the start script splits IPv4 ranges only.
 */
export function allowedLocalRanges(localRanges: string[]): { cidr: string; low: number; high: number }[] {
  const toInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  return localRanges.map((cidr) => ({ cidr, ...cidrRange(cidr) }))
    .filter((r) => r.version === 4)
    .map((r) => ({ cidr: r.cidr, low: toInt(r.first), high: toInt(r.last) }));
}
