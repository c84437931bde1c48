// web: HTTPS on the mail host for what mail software fetches: the MTA-STS
// policy (so senders insist on TLS to the pod) and client autoconfig; and, on
// the host's own name, the member pages (invites, password changes) of
// podkit-account-web, which asks the root daemon podkit-member (role mail).
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import { mustRelease } from "../../lib/stack/releases";
import type { RoleState } from "../../lib/converge/types";
import { hostFqdn, primaryDomain } from "../../lib/stack/derive";
import { mtaStsPolicy } from "../mail/mta-sts";
import { MAIL_PORTS } from "../mail/ports";
import { certPaths } from "../tls/role";
import { https, httpAnswer, PROBE_PACKAGE, tlsProbe } from "../../lib/converge/probes";
import { ACCOUNT_WEB } from "./account";
import { privacyHtml } from "./privacy-page";

const ACCOUNT_UNIT = "/etc/systemd/system/podkit-account-web.service";
const PAGES = ["layout.html", "invite.html", "invite-reset.html", "invite-gone.html", "invite-done.html", "password.html", "password-done.html", "message.html", "problem.html", "privacy.html", "style.css"];

export const web: Role = {
  name: "web",
  after: { tls: "nginx serves HTTPS with the host's certificate" },
  appliesTo: (stack, host) => stack.mail?.host === host,
  ports: [{ protocol: "tcp", port: 443, service: "https", why: "MTA-STS policy, mail client autoconfig, the member pages (invites, password changes)" }],
  names: (stack, host) => stack.domains.flatMap((d) => [
    { name: `mta-sts.${d}`, why: `mta-sts service on host ${host}` },
    { name: `autoconfig.${d}`, why: `autoconfig service on host ${host}` },
  ]),
  removal: {
    stop: ["podkit-account-web.service"],
    remove: ["/etc/nginx/podkit.d/web.conf", "/var/www/podkit/mta-sts", "/var/www/podkit/autoconfig", "/etc/podkit/tls/reload.d/web", ACCOUNT_UNIT, ACCOUNT_WEB.script, ACCOUNT_WEB.templates],
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
      accountPort: ACCOUNT_WEB.port,
    };
    // The member pages: deploy-time values in {{ }}, per-request ones ($name) filled by the service.
    const pageView = { fqdn, pod: stack.pod, logRetentionDays: stack.privacy.logRetentionDays, chat: !!stack.chat, privacyHtml: privacyHtml() };
    const unitView = { fqdn, port: ACCOUNT_WEB.port, socket: ACCOUNT_WEB.memberSocket, group: ACCOUNT_WEB.group, script: ACCOUNT_WEB.script, pages: ACCOUNT_WEB.templates };
    const page = (name: string) => renderTemplate("web", `usr/local/lib/podkit/account-web/${name}`, pageView, ctx.profile.release);
    const t = (path: string) => renderTemplate("web", path, view, ctx.profile.release);
    return {
      role: "web",
      packages: ["nginx", PROBE_PACKAGE],
      // The service's user is in this group, which may open podkit-member's socket. Role mail
      // asks for it too; role web runs first on the same host, and the unit needs it at start.
      groups: [{ name: ACCOUNT_WEB.group }],
      files: [
        { path: "/etc/nginx/podkit.d/web.conf", content: t("etc/nginx/podkit.d/web.conf") },
        { path: "/var/www/podkit/mta-sts/.well-known/mta-sts.txt", content: mtaStsPolicy(stack) },
        { path: "/var/www/podkit/autoconfig/mail/config-v1.1.xml", content: t("var/www/podkit/autoconfig/mail/config-v1.1.xml") },
        { path: "/etc/podkit/tls/reload.d/web", mode: 0o755, content: t("etc/podkit/tls/reload.d/web") },
        // python3 is on every host: certbot (role tls) runs on it.
        { path: ACCOUNT_WEB.script, mode: 0o755, content: renderTemplate("web", "usr/local/lib/podkit/podkit-account-web", {}, ctx.profile.release) },
        ...PAGES.map((name) => ({ path: `${ACCOUNT_WEB.templates}/${name}`, content: page(name) })),
        { path: ACCOUNT_UNIT, content: renderTemplate("web", "etc/systemd/system/podkit-account-web.service", unitView, ctx.profile.release) },
      ],
      checks: [
        { name: "nginx -t", reads: ["/etc/nginx"], run: "nginx -q -t -c {stage}/etc/nginx/nginx.conf" },
        { name: "python3 compiles podkit-account-web", reads: [ACCOUNT_WEB.script], run: `python3 -c 'import ast,sys; ast.parse(open(sys.argv[1]).read())' {stage}${ACCOUNT_WEB.script}` },
      ],
      handlers: [
        { name: "systemctl daemon-reload", when: [ACCOUNT_UNIT], run: "systemctl daemon-reload" },
      ],
      services: [
        // Before nginx, so nginx's probes meet the pages already up. Python cannot reload: a restart.
        { unit: "podkit-account-web.service", watch: [ACCOUNT_UNIT, ACCOUNT_WEB.script, `${ACCOUNT_WEB.templates}/`], onChange: "restart", ports: [ACCOUNT_WEB.port],
          probes: [httpAnswer(ACCOUNT_WEB.port, "/account/password", "^HTTP/1\\.[01] 200")] },
        // The MTA-STS policy is what senders fetch: its name's certificate, over HTTPS; and the member pages' name.
        { unit: "nginx.service", watch: ["/etc/nginx/"], ports: [80, 443], probes: [
          https(443, `mta-sts.${primaryDomain(stack)}`),
          // The member pages' name: its certificate and an HTTP answer (nginx's own 404 for /, so a
          // failing podkit-account-web never takes MTA-STS down with it).
          tlsProbe({ port: 443, name: fqdn, send: `HEAD / HTTP/1.0\\r\\nHost: ${fqdn}\\r\\n\\r\\n`, expect: "^HTTP/1\\.[01] [0-9]{3}", label: `HTTPS on 443 for ${fqdn}` }),
        ] },
      ],
    };
  },
};
