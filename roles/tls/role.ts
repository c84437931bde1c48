// tls: one certificate per host, from ACME (Let's Encrypt, or the lab's CA),
// covering every name the host serves; renewed by certbot.timer; after each
// renewal every daemon that uses it is reloaded (reload.d scripts of the roles).
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { RoleState } from "../../lib/converge/types";
import { shellQuote } from "../../lib/ssh/shell";
import { postmaster, serviceNames } from "../../lib/stack/derive";
import { boxesBehind, tunnelAddress } from "../../lib/stack/edge";
import type { Stack } from "../../lib/stack/schema";

const WEBROOT = "/var/lib/podkit/acme";

/** Where every role finds the host's certificate (certbot's live directory). */
export function certPaths(fqdn: string) {
  const dir = `/etc/letsencrypt/live/${fqdn}`;
  return { fullchain: `${dir}/fullchain.pem`, key: `${dir}/privkey.pem` };
}

export const tls: Role = {
  name: "tls",
  after: {
    base: "packages, the firewall and SSH come first",
    tunnel: "a box behind an edge is asked for its ACME challenges through the tunnel",
  },
  // Every host gets a certificate for every name it serves.
  appliesTo: () => true,
  // Certificates come from ACME http-01 on port 80; the same port redirects browsers to https.
  ports: [{ protocol: "tcp", port: 80, service: "http", why: "ACME http-01 challenges and the redirect to https" }],
  removal: { stop: [], remove: [], keeps: "everything: every host runs tls, so it goes only with the host" },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const view = {
      fqdn, webroot: WEBROOT,
      // nginx listens on [::] only where the host has IPv6.
      ipv6: ctx.profile.ipv6,
      names: serviceNames(stack, ctx.host).map((n) => n.name).join(" "),
      server: stack.tls.acme.directory,
      // On an edge, port 80 serves the boxes behind it too (acme.conf).
      edge: edgeHttp(stack, ctx.host),
      // The CA's expiry warnings go to tls.acme.email, or the postmaster.
      email: stack.tls.acme.email ?? postmaster(stack),
    };
    // The request file is sourced by podkit-cert (sh): stack values go in single-quoted.
    const quoted = { fqdn: shellQuote(view.fqdn), names: shellQuote(view.names), server: shellQuote(view.server), email: shellQuote(view.email) };
    const t = (path: string) => renderTemplate("tls", path, { ...view, quoted }, ctx.profile.release);
    return {
      role: "tls",
      packages: ["nginx", "certbot"],
      dirs: [
        { path: WEBROOT, mode: 0o755 },
        { path: "/etc/podkit/tls/reload.d", mode: 0o755 },
      ],
      files: [
        { path: "/etc/nginx/nginx.conf", content: t("etc/nginx/nginx.conf") },
        { path: "/etc/nginx/podkit.d/acme.conf", content: t("etc/nginx/podkit.d/acme.conf") },
        { path: "/etc/podkit/tls/request", content: t("etc/podkit/tls/request") },
        { path: "/usr/local/sbin/podkit-cert", mode: 0o755, content: t("usr/local/sbin/podkit-cert") },
        { path: "/etc/letsencrypt/renewal-hooks/deploy/podkit-reload", mode: 0o755, content: t("etc/letsencrypt/renewal-hooks/deploy/podkit-reload") },
      ],
      // Debian's default site also wants port 80; the pod's nginx.conf no longer includes it, remove it for clarity.
      absent: ["/etc/nginx/sites-enabled/default"],
      checks: [{ name: "nginx -t", reads: ["/etc/nginx"], run: "nginx -q -t -c {stage}/etc/nginx/nginx.conf" }],
      handlers: [{
        name: "obtain certificate",
        when: ["/etc/podkit/tls/request"],
        run: "/usr/local/sbin/podkit-cert",
        unless: `cmp -s /etc/podkit/tls/request /var/lib/podkit/tls/request.done && test -s ${certPaths(fqdn).fullchain}`,
        phase: "after-reload",
      }],
      services: [
        { unit: "nginx.service", watch: ["/etc/nginx/"], ports: [80] },
        { unit: "certbot.timer", watch: [] },
      ],
    };
  },
};

/**
 * On an edge: the names each box behind it serves, with the box's tunnel address, where port 80
 * sends what is not this host's own ACME token. Nothing on any other host.
 */
function edgeHttp(stack: Stack, host: string) {
  const boxes = boxesBehind(stack, host);
  if (!boxes.length) return undefined;
  // A name this host serves too (the MX name, on an edge in front of the mail host) still goes to the box: its token,
  // if it is not this host's, is the box's.
  const names = boxes.flatMap((box) => serviceNames(stack, box).map(({ name }) => ({ name, address: tunnelAddress(stack, box)! })));
  return { boxes: boxes.join(", "), default: tunnelAddress(stack, boxes[0])!, names };
}
