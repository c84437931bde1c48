// edge: on the public host in front of a box (`hosts.<box>.edge`), Postfix as
// the pod's MX front and backup MX: it screens port 25 like the mail host
// would (postscreen, the stack's blocklists), takes mail for exactly the
// addresses the mail host accepts, hands it over the tunnel to the mail host
// (and keeps it while that host is down), and sends the boxes' outgoing mail
// from its own address. Port 25 is the one pod port the edge does not forward:
// a box on a home line may not be reachable, and its address is not the MX's.
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { FileSpec, RoleState } from "../../lib/converge/types";
import { PROBE_PACKAGE, smtpStarttls } from "../../lib/converge/probes";
import { hostFqdn } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";
import { certPaths } from "../tls/role";
import { acceptedAddresses, POSTFIX_CHECK, POSTFIX_CHROOT_RESOLVER, postscreenDnsbl, relayPasswordFile } from "../mail/role";
import { MAIL_PORTS } from "../mail/ports";
import { edgeMailHost, edgeSmtpView } from "./mail";

const RELAY_RECIPIENTS = "/etc/postfix/relay_recipients";

export const edge: Role = {
  name: "edge",
  after: { tls: "Postfix starts with the host's certificate, which covers the MX name" },
  // Every edge in front of the mail host. An edge whose boxes run no mail has no mail to relay.
  appliesTo: (stack, host) => edgeMailHost(stack, host) !== undefined,
  ports: [{ protocol: "tcp", port: MAIL_PORTS.smtp, service: "smtp", why: "mail from other servers (the pod's MX), relayed to the mail host over the tunnel" }],
  // The MX name is the mail host's: it resolves to this edge, so this host's certificate must cover it.
  names: (stack, host) => [{ name: hostFqdn(stack, edgeMailHost(stack, host)!), why: `the MX: Postfix on edge ${host} answers for the mail host` }],
  removal: {
    stop: ["postfix.service"],
    remove: [RELAY_RECIPIENTS, `${RELAY_RECIPIENTS}.db`, "/etc/postfix/sasl_passwd", "/etc/postfix/sasl_passwd.db"],
    keeps: "Postfix's queue (/var/spool/postfix): mail still waiting for the mail host; `postqueue -p` shows it, `postqueue -f` sends it before the edge goes",
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const m = stack.mail!;
    const relay = m.relay ? { ...m.relay, wrapper: m.relay.port === 465 } : undefined;
    const view = {
      fqdn, ...certPaths(fqdn), ...edgeSmtpView(stack, ctx.host),
      relay,
      dnsbl: postscreenDnsbl(m.dnsbl),
      inetProtocols: ctx.profile.ipv6 ? "all" : "ipv4",
    };
    const t = (path: string) => renderTemplate("edge", path, view, ctx.profile.release);
    const files: FileSpec[] = [
      { path: "/etc/postfix/main.cf", content: t("etc/postfix/main.cf") },
      { path: "/etc/postfix/master.cf", content: t("etc/postfix/master.cf") },
      { path: RELAY_RECIPIENTS, content: relayRecipients(stack, view.mxName) },
    ];
    if (relay) files.push(relayPasswordFile(ctx, relay));
    const postmap = (path: string) => ({ name: `postmap ${path}`, when: [path], run: `postmap ${path}` });
    return {
      role: "edge",
      // Answer debconf before postfix installs, or it asks (and writes a main.cf of its own).
      debconf: [
        "postfix postfix/main_mailer_type select No configuration",
        `postfix postfix/mailname string ${view.mxName}`,
      ],
      // openssl s_client: the probe talks STARTTLS on 25 as a sending server does.
      packages: ["postfix", PROBE_PACKAGE],
      files,
      checks: [POSTFIX_CHECK],
      handlers: [
        postmap(RELAY_RECIPIENTS),
        ...(relay ? [postmap("/etc/postfix/sasl_passwd")] : []),
        POSTFIX_CHROOT_RESOLVER,
      ],
      services: [{
        // A sender connects to the MX name and checks the certificate against it.
        unit: "postfix.service", watch: ["/etc/postfix/"], ports: [MAIL_PORTS.smtp],
        probes: [smtpStarttls(MAIL_PORTS.smtp, view.mxName)],
      }],
    };
  },
};

/**
 * relay_recipient_maps: the addresses the mail host accepts (its mailboxes and aliases, from the
 * stack, read by role mail's own function), and postmaster at the MX name (RFC 5321 4.5.1).
 */
function relayRecipients(stack: Stack, mxName: string): string {
  const lines = [...acceptedAddresses(stack), `postmaster@${mxName}`].map((a) => `${a} OK\n`);
  return `# Managed by podkit (role edge): the addresses the mail host accepts. Edit the stack file, not this file.\n${lines.join("")}`;
}
