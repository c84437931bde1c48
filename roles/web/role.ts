// web: HTTPS on the mail host for what mail software fetches: the MTA-STS
// policy (so senders insist on TLS to the pod) and client autoconfig.
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import { mustRelease } from "../../lib/stack/releases";
import type { RoleState } from "../../lib/converge/types";
import { hostFqdn, primaryDomain } from "../../lib/stack/derive";
import { mtaStsPolicy } from "../mail/mta-sts";
import { MAIL_PORTS } from "../mail/ports";
import { certPaths } from "../tls/role";
import { https, PROBE_PACKAGE } from "../../lib/converge/probes";

export const web: Role = {
  name: "web",
  after: { tls: "nginx serves HTTPS with the host's certificate" },
  appliesTo: (stack, host) => stack.mail?.host === host,
  ports: [{ protocol: "tcp", port: 443, service: "https", why: "MTA-STS policy and mail client autoconfig" }],
  names: (stack, host) => stack.domains.flatMap((d) => [
    { name: `mta-sts.${d}`, why: `mta-sts service on host ${host}` },
    { name: `autoconfig.${d}`, why: `autoconfig service on host ${host}` },
  ]),
  removal: {
    stop: [],
    remove: ["/etc/nginx/podkit.d/web.conf", "/var/www/podkit/mta-sts", "/var/www/podkit/autoconfig", "/etc/podkit/tls/reload.d/web"],
    keeps: "nginx itself, which the tls role runs on every host for ACME",
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const view = {
      fqdn, pod: stack.pod, primary: primaryDomain(stack), domains: stack.domains, mx: hostFqdn(stack, stack.mail!.host),
      mtaStsNames: stack.domains.map((d) => `mta-sts.${d}`).join(" "),
      autoconfigNames: stack.domains.map((d) => `autoconfig.${d}`).join(" "),
      ports: MAIL_PORTS,
      // nginx listens on [::] only where the host has IPv6.
      ipv6: ctx.profile.ipv6,
      http2Directive: mustRelease(ctx.profile.release).nginxHttp2Directive,
      ...certPaths(fqdn),
    };
    const t = (path: string) => renderTemplate("web", path, view, ctx.profile.release);
    return {
      role: "web",
      packages: ["nginx", PROBE_PACKAGE],
      files: [
        { path: "/etc/nginx/podkit.d/web.conf", content: t("etc/nginx/podkit.d/web.conf") },
        { path: "/var/www/podkit/mta-sts/.well-known/mta-sts.txt", content: mtaStsPolicy(stack) },
        { path: "/var/www/podkit/autoconfig/mail/config-v1.1.xml", content: t("var/www/podkit/autoconfig/mail/config-v1.1.xml") },
        { path: "/etc/podkit/tls/reload.d/web", mode: 0o755, content: t("etc/podkit/tls/reload.d/web") },
      ],
      checks: [{ name: "nginx -t", reads: ["/etc/nginx"], run: "nginx -q -t -c {stage}/etc/nginx/nginx.conf" }],
      // The MTA-STS policy is what senders fetch: its name's certificate, over HTTPS.
      services: [{ unit: "nginx.service", watch: ["/etc/nginx/"], ports: [80, 443], probes: [https(443, `mta-sts.${primaryDomain(stack)}`)] }],
    };
  },
};
