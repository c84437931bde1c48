// The host's own resolver: unbound on loopback, validating, resolving from the
// root, and /etc/resolv.conf pointing at it. What differs between hosts comes
// from the profile alone: IPv6, and a resolver on the host's network to forward
// to (the lab's), with its private zones and whether it passes DNSSEC through.
//
// /etc/resolv.conf changes only once unbound answers: the role writes the wanted
// file to /etc/podkit/resolv.conf, and a handler after the services came back
// healthy (port 53 answering) renames it over /etc/resolv.conf. Until then the
// host keeps the resolver it had, which installs the packages. The same handler
// runs whenever /etc/resolv.conf is not that file (a symlink to
// systemd-resolved's stub, a DHCP client's rewrite), and a rename makes it a
// regular file of its own.
import { dnsAnswer } from "../../lib/converge/probes";
import { renderTemplate } from "../../lib/converge/template";
import type { CheckSpec, FileSpec, HandlerSpec, ServiceSpec } from "../../lib/converge/types";
import type { HostProfile } from "../../lib/stack/profile";

export const UNBOUND_CONF = "/etc/unbound/unbound.conf.d/podkit.conf";
/** The resolv.conf the host should have; /etc/resolv.conf becomes a copy of it. */
export const WANTED_RESOLV_CONF = "/etc/podkit/resolv.conf";
/** The root trust anchor unbound keeps current (RFC 5011), named by Debian's root-auto-trust-anchor-file.conf. */
const ROOT_KEY = "/var/lib/unbound/root.key";
const DHCLIENT_HOOK = "/etc/dhcp/dhclient-enter-hooks.d/podkit-keep-resolv-conf";

export interface ResolverParts {
  packages: string[];
  files: FileSpec[];
  checks: CheckSpec[];
  handlers: HandlerSpec[];
  services: ServiceSpec[];
}

/** The loopback addresses unbound listens on and resolv.conf names. */
export function resolverAddresses(profile: HostProfile): string[] {
  return profile.ipv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"];
}

export function localResolver(fqdn: string, profile: HostProfile): ResolverParts {
  const t = (path: string, view: Record<string, unknown>) => renderTemplate("base", path, { fqdn, ...view }, profile.release);
  const forward = profile.resolver;
  const validates = !forward || forward.dnssec;
  const unbound = t("etc/unbound/unbound.conf.d/podkit.conf", {
    interfaces: resolverAddresses(profile),
    ip6: profile.ipv6 ? "yes" : "no",
    modules: validates ? "validator iterator" : "iterator",
    dnssecWhy: validates
      ? "validated with the root trust anchor; answers that fail are refused."
      : `off: the resolver this host forwards to (${forward!.address}) does not pass DNSSEC records through, so every signed name would look bogus. No DANE here.`,
    privateZones: forward?.privateZones ?? [],
    forward: forward ? { address: forward.address, privateZones: forward.privateZones } : false,
  });
  const resolvConf = t("etc/podkit/resolv.conf", { nameservers: resolverAddresses(profile) });
  const live = "/etc/resolv.conf";
  return {
    // dns-root-data: the root trust anchor and root hints, kept current by Debian.
    packages: ["unbound", "dns-root-data"],
    files: [
      { path: UNBOUND_CONF, content: unbound },
      { path: WANTED_RESOLV_CONF, content: resolvConf },
      { path: DHCLIENT_HOOK, content: t("etc/dhcp/dhclient-enter-hooks.d/podkit-keep-resolv-conf", {}) },
    ],
    checks: [{
      // unbound.conf includes its drop-ins by absolute path: check copies of the
      // staged ones. Debian's root-auto-trust-anchor-file.conf names the key
      // unbound-helper copies from dns-root-data at unbound's first start; until
      // then (just installed) the check reads dns-root-data's own copy.
      name: "unbound-checkconf", reads: ["/etc/unbound"],
      run: [
        `K=${ROOT_KEY}; [ -e "$K" ] || K=/usr/share/dns/root.key`,
        "mkdir {work}/conf.d && cp {stage}/etc/unbound/unbound.conf.d/*.conf {work}/conf.d/",
        `sed -i "s#\"${ROOT_KEY}\"#\"$K\"#" {work}/conf.d/*.conf`,
        "sed 's#/etc/unbound/unbound.conf.d/#{work}/conf.d/#' {stage}/etc/unbound/unbound.conf > {work}/unbound.conf",
        "unbound-checkconf {work}/unbound.conf",
      ].join(" && "),
    }],
    handlers: [{
      name: "point /etc/resolv.conf at unbound",
      when: [WANTED_RESOLV_CONF],
      unless: `[ ! -L ${live} ] && cmp -s ${WANTED_RESOLV_CONF} ${live}`,
      // After the services: unbound is up and its port answers. A rename puts a
      // regular file in place of a symlink, and no reader sees half a file; where
      // the file is a mount point (a container's, bind-mounted from outside) it
      // cannot be renamed over and is written in place.
      phase: "after-reload",
      run: `systemctl is-active -q unbound.service && install -m 644 ${WANTED_RESOLV_CONF} ${live}.podkit-new && `
        + `{ mv -f ${live}.podkit-new ${live} 2>/dev/null || { cat ${live}.podkit-new > ${live} && rm -f ${live}.podkit-new; }; }`,
    }],
    services: [{ unit: "unbound.service", watch: ["/etc/unbound/"], onChange: "restart", ports: [53], probes: [dnsAnswer(53)] }],
  };
}
