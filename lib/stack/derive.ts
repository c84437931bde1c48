// Names and roles that follow from a valid stack, computed in one place so the
// DNS plan, the certificates, the Pulumi program and the roles agree.
import type { Stack } from "./schema";

export type RoleName = "base" | "tls" | "web" | "mail" | "xmpp" | "backup";

/**
 * Roles in the order they are applied on a host, and why:
 * base first (packages, firewall, SSH); tls next, because every daemon after it
 * starts with a certificate; web (MTA-STS policy, autoconfig) before mail, so
 * the policy a sender fetches exists when the MX starts; mail before xmpp,
 * because Prosody checks passwords against the mail accounts; backup last,
 * since it copies what the others created.
 */
export const ROLE_ORDER: RoleName[] = ["base", "tls", "web", "mail", "xmpp", "backup"];

export const primaryDomain = (stack: Stack): string => stack.domains[0];

export function hostFqdn(stack: Stack, host: string): string {
  return stack.hosts[host]?.fqdn ?? `${host}.${primaryDomain(stack)}`;
}

export function hostKind(stack: Stack, host: string): "hcloud" | "existing" | "lab" {
  const h = stack.hosts[host];
  if (h.hcloud) return "hcloud";
  if (h.existing) return "existing";
  return "lab";
}

/** Roles each host runs, in apply order. Every host gets base and tls. */
export function rolesByHost(stack: Stack): Record<string, RoleName[]> {
  const out: Record<string, RoleName[]> = {};
  for (const host of Object.keys(stack.hosts)) {
    const roles = new Set<RoleName>(["base", "tls"]);
    if (stack.mail?.host === host) roles.add("web").add("mail");
    if (stack.chat?.host === host) roles.add("xmpp");
    if (stack.backup?.host === host) roles.add("backup");
    out[host] = ROLE_ORDER.filter((r) => roles.has(r));
  }
  return out;
}

/**
 * Names a host serves, each needing a certificate and an address record.
 * On the chat host that includes the bare domain: XMPP clients and servers
 * check the certificate against the domain itself (RFC 6120 13.7.2), and the
 * CA validates that name over HTTP at the domain's own address. A website for
 * the domain elsewhere must then live at www., or forward
 * /.well-known/acme-challenge/ to the pod.
 */
export function serviceNames(stack: Stack, host: string): string[] {
  const names = [hostFqdn(stack, host)];
  for (const d of stack.domains) {
    if (stack.mail?.host === host) names.push(`mta-sts.${d}`, `autoconfig.${d}`);
    if (stack.chat?.host === host) names.push(d, `conference.${d}`, `upload.${d}`);
  }
  return [...new Set(names)];
}

export const postmaster = (stack: Stack): string => `postmaster@${primaryDomain(stack)}`;
export const dmarcReports = (stack: Stack): string => stack.mail?.dmarc.reports ?? postmaster(stack);
export const tlsReports = (stack: Stack): string => stack.mail?.tlsReports ?? dmarcReports(stack);
export const acmeEmail = (stack: Stack): string => stack.tls.acme.email ?? postmaster(stack);

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
