// Names and roles that follow from a valid stack, computed in one place so the
// DNS plan, the certificates, the Pulumi program and the roles agree. Which
// roles run where, and the names they serve, come from the roles' own
// declarations (roles/<name>/role.ts).
import { registeredRoles } from "../converge/registry";
import type { RoleName, ServiceName } from "../converge/role";
import type { HostKind } from "./host-provider";
import type { Stack } from "./schema";

export const primaryDomain = (stack: Stack): string => stack.domains[0];

export function hostFqdn(stack: Stack, host: string): string {
  return stack.hosts[host]?.fqdn ?? `${host}.${primaryDomain(stack)}`;
}

/** Which kind of host (which adapter) the stack gives `host`: the key it is written with. */
export function hostKind(stack: Stack, host: string): HostKind {
  const h = stack.hosts[host];
  if (h.hcloud) return "hcloud";
  if (h.existing) return "existing";
  return "lab";
}

/** Roles each host runs, in apply order. */
export function rolesByHost(stack: Stack): Record<string, RoleName[]> {
  return Object.fromEntries(Object.keys(stack.hosts).map((host) =>
    [host, registeredRoles().filter((r) => r.appliesTo(stack, host)).map((r) => r.name)]));
}

/**
 * Names a host serves, each needing a certificate and an address record: its
 * own name first, then what its roles declare, grouped by mail domain in the
 * stack's order (a certificate request reads domain by domain).
 */
export function serviceNames(stack: Stack, host: string): ServiceName[] {
  const declared = registeredRoles().filter((r) => r.appliesTo(stack, host)).flatMap((r) => r.names?.(stack, host) ?? []);
  // The domain a name is for is the longest one it is equal to or under (a.org and x.a.org can both be mail domains).
  const rank = ({ name }: ServiceName) => {
    const domain = stack.domains.filter((d) => name === d || name.endsWith(`.${d}`)).sort((a, b) => b.length - a.length)[0];
    return domain ? stack.domains.indexOf(domain) : stack.domains.length;
  };
  const names = [{ name: hostFqdn(stack, host), why: `host ${host}` }, ...declared.sort((a, b) => rank(a) - rank(b))];
  return names.filter((n, i) => names.findIndex((m) => m.name === n.name) === i);
}

export const postmaster = (stack: Stack): string => `postmaster@${primaryDomain(stack)}`;

/** The zones records go into: dns.zones, or one per mail domain that is not under another one. */
export const zones = (stack: Stack): string[] => zonesFor(stack.domains, stack.dns.zones);

export function zonesFor(domains: string[], declared?: string[]): string[] {
  return declared?.length ? declared : domains.filter((d) => !domains.some((o) => d.endsWith(`.${o}`)));
}

/** The zone a name belongs to: the longest zone it is equal to or under. */
export function zoneOf(stack: Stack, name: string): string | undefined {
  return zones(stack)
    .filter((z) => name === z || name.endsWith(`.${z}`))
    .sort((a, b) => b.length - a.length)[0];
}
