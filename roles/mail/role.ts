// mail: Postfix (MX on 25, submission on 587 and 465), Dovecot (IMAPS,
// LMTP delivery, sieve, quotas), OpenDKIM (signing, checking) and OpenDMARC
// (SPF and DMARC checking). Accounts, aliases and forwards from the stack.
import { oneLine } from "../../lib/stack/text";
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { FileSpec, RoleState } from "../../lib/converge/types";
import { postmaster } from "../../lib/stack/derive";
import { dovecotScramSha256 } from "../../lib/stack/passwords";
import type { Stack } from "../../lib/stack/schema";
import { GENERATED } from "../../lib/stack/secrets";
import { mustRelease } from "../../lib/stack/releases";
import { certPaths } from "../tls/role";
import { mailRecords } from "./dns";
import { MAIL_PORTS } from "./ports";

const VMAIL_HOME = "/var/mail/vhosts";
/** OpenDKIM's libunbound settings when the host's profile names a resolver with private zones. */
const RESOLVER_CONF = "/etc/opendkim/unbound.conf";
/** Debian runs Postfix's daemons chrooted here; its start script copies /etc/resolv.conf in. */
const CHROOT_RESOLV_CONF = "/var/spool/postfix/etc/resolv.conf";
/** Ends the open sessions of logins no longer in /etc/dovecot/users. */
const KICK_REMOVED = "/usr/local/sbin/podkit-mail-kick-removed";

export const mail: Role = {
  name: "mail",
  after: {
    tls: "Postfix and Dovecot start with the host's certificate",
    web: "the MTA-STS policy a sender fetches exists when the MX starts",
  },
  appliesTo: (stack, host) => stack.mail?.host === host,
  ports: [
    { protocol: "tcp", port: MAIL_PORTS.smtp, service: "smtp", why: "mail from other servers (MX)" },
    { protocol: "tcp", port: MAIL_PORTS.submissions, service: "submissions", why: "mail clients send over implicit TLS (RFC 8314)" },
    { protocol: "tcp", port: MAIL_PORTS.submission, service: "submission", why: "mail clients send with STARTTLS" },
    { protocol: "tcp", port: MAIL_PORTS.imaps, service: "imaps", why: "mail clients read over IMAPS" },
    { protocol: "tcp", port: MAIL_PORTS.managesieve, service: "managesieve", why: "mail clients edit their filters and vacation replies (ManageSieve, TLS required)" },
  ],
  records: (stack, _host, facts) => mailRecords(stack, facts),
  removal: {
    stop: ["postfix.service", "dovecot.service", "opendkim.service", "opendmarc.service"],
    remove: [
      "/etc/postfix/vmailbox", "/etc/postfix/virtual", "/etc/postfix/sender_logins", "/etc/postfix/sasl_passwd",
      "/etc/dovecot/users", "/etc/dkimkeys", "/etc/opendkim", "/etc/podkit/tls/reload.d/mail", KICK_REMOVED,
    ],
    keeps: `the mailboxes under ${VMAIL_HOME}: they are the users' mail, and go only with the host or a restore elsewhere`,
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const m = stack.mail!;
    const relay = m.relay ? { ...m.relay, wrapper: m.relay.port === 465 } : undefined;
    const view = {
      fqdn, ...certPaths(fqdn),
      domains: stack.domains.join(", "),
      postmaster: postmaster(stack),
      selector: m.dkim.selector,
      relay,
      dnsbl: postscreenDnsbl(m.dnsbl),
      inetProtocols: ctx.profile.ipv6 ? "all" : "ipv4",
      ipv6: ctx.profile.ipv6,
      resolverConf: ctx.profile.resolver ? RESOLVER_CONF : undefined,
      resolver: ctx.profile.resolver,
      ports: MAIL_PORTS,
      // main.cf has no quoting: a line break in a value would start a parameter of its own.
      extra: Object.entries(m.postfix).map(([name, value]) => ({
        name: oneLine(`mail.postfix key ${JSON.stringify(name)}`, name, true),
        value: oneLine(`mail.postfix.${name}`, typeof value === "boolean" ? (value ? "yes" : "no") : String(value)),
      })),
    };
    const t = (path: string) => renderTemplate("mail", path, view, ctx.profile.release);
    const maps = postfixMaps(stack);
    const files: FileSpec[] = [
      { path: "/etc/postfix/main.cf", content: t("etc/postfix/main.cf") },
      { path: "/etc/postfix/master.cf", content: t("etc/postfix/master.cf") },
      { path: "/etc/postfix/submission_header_checks", content: t("etc/postfix/submission_header_checks") },
      { path: "/etc/postfix/vmailbox", content: maps.vmailbox },
      { path: "/etc/postfix/virtual", content: maps.virtual },
      { path: "/etc/postfix/sender_logins", content: maps.senderLogins },
      { path: "/etc/aliases", content: t("etc/aliases") },
      { path: "/etc/dovecot/dovecot.conf", content: t("etc/dovecot/dovecot.conf") },
      { path: "/etc/dovecot/users", content: dovecotUsers(ctx), mode: 0o640, group: "dovecot", secret: true },
      { path: "/etc/opendkim.conf", content: t("etc/opendkim.conf") },
      { path: `/etc/dkimkeys/${m.dkim.selector}.private`, content: ctx.secret(GENERATED.dkimKey), mode: 0o600, owner: "opendkim", group: "opendkim", secret: true },
      { path: "/etc/opendmarc.conf", content: t("etc/opendmarc.conf") },
      { path: "/etc/opendmarc/ignore.hosts", content: t("etc/opendmarc/ignore.hosts") },
      { path: "/etc/podkit/tls/reload.d/mail", mode: 0o755, content: t("etc/podkit/tls/reload.d/mail") },
      { path: KICK_REMOVED, mode: 0o755, content: t("usr/local/sbin/podkit-mail-kick-removed") },
    ];
    if (relay) {
      files.push({
        path: "/etc/postfix/sasl_passwd", mode: 0o600, secret: true,
        // A Postfix table has no quoting: one line per entry, the login a single word.
        content: `[${relay.host}]:${relay.port} ${oneLine("mail.relay.username", relay.username, true)}:${oneLine("the secret of mail.relay.password", ctx.secret(relay.password.secret))}\n`,
      });
    }
    if (ctx.profile.resolver) files.push({ path: RESOLVER_CONF, content: t("etc/opendkim/unbound.conf") });

    const postmap = (name: string) => ({ name: `postmap ${name}`, when: [`/etc/postfix/${name}`], run: `postmap /etc/postfix/${name}` });
    return {
      role: "mail",
      // Answer debconf before postfix installs, or it asks (and writes a main.cf of its own).
      debconf: [
        "postfix postfix/main_mailer_type select No configuration",
        `postfix postfix/mailname string ${fqdn}`,
      ],
      packages: [
        "postfix", "dovecot-core", "dovecot-imapd", "dovecot-lmtpd", "dovecot-sieve", "dovecot-managesieved",
        "opendkim", "opendmarc", "publicsuffix",
      ],
      users: [{ name: "vmail", home: VMAIL_HOME }],
      // setgid like Debian's /var/mail, which new directories under it inherit anyway.
      dirs: [{ path: VMAIL_HOME, mode: 0o2750, owner: "vmail", group: "vmail" }],
      files,
      checks: [
        {
          // `postfix check` reports to syslog only, and to stderr just when that is a terminal: when it
          // refuses, it runs once more on one (script(1)) so its own message is shown, journal or not.
          name: "postfix check", reads: ["/etc/postfix"],
          run: "postfix -c {stage}/etc/postfix check || { script -qec 'postfix -c {stage}/etc/postfix check' /dev/null </dev/null | tr -d '\\r'; exit 1; }",
        },
        { name: "doveconf", reads: ["/etc/dovecot"], run: "doveconf -n -c {stage}/etc/dovecot/dovecot.conf >/dev/null" },
        {
          // opendkim -n opens the key and resolver files it names: point the check at the staged ones.
          name: "opendkim -n", reads: ["/etc/opendkim.conf", "/etc/dkimkeys", "/etc/opendkim"],
          run: "sed 's#/etc/dkimkeys/#{stage}/etc/dkimkeys/#; s#/etc/opendkim/#{stage}/etc/opendkim/#' {stage}/etc/opendkim.conf > {work}/opendkim.conf && opendkim -n -x {work}/opendkim.conf",
        },
        { name: "opendmarc -n", reads: ["/etc/opendmarc.conf"], run: "opendmarc -n -c {stage}/etc/opendmarc.conf" },
      ],
      handlers: [
        postmap("vmailbox"), postmap("virtual"), postmap("sender_logins"),
        ...(relay ? [postmap("sasl_passwd")] : []),
        { name: "newaliases", when: ["/etc/aliases"], run: "newaliases" },
        {
          // Postfix's chrooted daemons (smtpd's sender checks, postscreen's blocklist queries, DANE)
          // read the copy of resolv.conf Debian makes at start, never at reload: after the host's
          // resolver changed, the copy would keep asking the old one (one Spamhaus refuses, or one
          // that does not validate) until Postfix restarts.
          name: "Postfix's chroot asks the host's resolver",
          when: ["/etc/postfix/main.cf", "/etc/postfix/master.cf"],
          unless: `cmp -s /etc/resolv.conf ${CHROOT_RESOLV_CONF}`,
          run: `install -D -m 644 /etc/resolv.conf ${CHROOT_RESOLV_CONF}`,
        },
        // A removed account's open IMAP sessions end with its login.
        { name: "close the sessions of removed accounts", when: ["/etc/dovecot/users"], run: KICK_REMOVED },
      ],
      services: [
        { unit: "opendkim.service", watch: ["/etc/opendkim.conf", "/etc/dkimkeys/", "/etc/opendkim/"], onChange: "restart", ports: [8891] },
        { unit: "opendmarc.service", watch: ["/etc/opendmarc.conf", "/etc/opendmarc/"], onChange: "restart", ports: [8893] },
        { unit: "dovecot.service", watch: ["/etc/dovecot/"], ports: [MAIL_PORTS.imaps, MAIL_PORTS.managesieve] },
        { unit: "postfix.service", watch: ["/etc/postfix/"], ports: [MAIL_PORTS.smtp, MAIL_PORTS.submissions, MAIL_PORTS.submission] },
      ],
    };
  },
};

/**
 * mail.dnsbl as postscreen's sites and threshold, or false when no site is listed
 * (no blocklist queries at all). Only 127.0.0.2-127.0.0.255 counts as a listing:
 * Spamhaus answers 127.255.255.x to a query it refuses (a public resolver, too many
 * queries), and counting those would refuse every client.
 */
export function postscreenDnsbl(dnsbl: NonNullable<Stack["mail"]>["dnsbl"]): { sites: string; threshold: number } | false {
  if (!dnsbl.sites.length) return false;
  return {
    sites: dnsbl.sites.map((s) => `${s.zone}=127.0.0.[2..255]*${s.weight}`).join(", "),
    threshold: dnsbl.threshold,
  };
}

/** Postfix lookup tables: which addresses have mailboxes, where aliases go, who may send as what. */
export function postfixMaps(stack: Stack): { vmailbox: string; virtual: string; senderLogins: string } {
  const header = (what: string) => `# Managed by podkit (role mail): ${what}. Edit the stack file, not this file.\n`;
  const vmailbox: string[] = [];
  const virtual: string[] = [];
  const logins: string[] = [];
  for (const [address, account] of Object.entries(stack.accounts)) {
    const domain = address.slice(address.indexOf("@") + 1);
    vmailbox.push(`${address} OK`);
    logins.push(`${address} ${address}`);
    // A forward keeps a copy in the mailbox: the address delivers to itself and the forward targets.
    if (account.forward.length) virtual.push(`${address} ${[address, ...account.forward].join(", ")}`);
    for (const alias of account.aliases) {
      const full = alias.includes("@") ? alias : `${alias}@${domain}`;
      virtual.push(`${full} ${address}`);
      logins.push(`${full} ${address}`);
    }
  }
  return {
    vmailbox: header("mailboxes that exist") + vmailbox.map((l) => `${l}\n`).join(""),
    virtual: header("aliases and forwards") + virtual.map((l) => `${l}\n`).join(""),
    senderLogins: header("which login may send as which address") + logins.map((l) => `${l}\n`).join(""),
  };
}

/** Dovecot's passwd-file: address, password hash, quota. */
function dovecotUsers(ctx: RoleContext): string {
  const quota = quotaField(ctx.profile.release);
  return Object.entries(ctx.stack.accounts)
    .map(([address, a]) => `${address}:${dovecotScramSha256(address, ctx.secret(a.password.secret), ctx.secret(GENERATED.passwordSalt))}::::::${quota(a.quota)}
`)
    .join("");
}

/**
 * The account's quota as a userdb extra field: a quota rule in Dovecot 2.3,
 * the quota_storage_size setting in 2.4, which dropped quota rules
 * (https://doc.dovecot.org/2.4.1/core/plugins/quota.html).
 */
export function quotaField(release: string): (size: string) => string {
  return mustRelease(release).dovecot === "2.4"
    ? (size) => `userdb_quota_storage_size=${size}`
    : (size) => `userdb_quota_rule=*:storage=${size}`;
}
