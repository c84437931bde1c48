// mail: Postfix (MX on 25, submission on 587 and 465), Dovecot (IMAPS,
// LMTP delivery, sieve, quotas, Junk and learning), rspamd (the milter: spam
// scores, DKIM signing, SPF/DKIM/DMARC/ARC checks, sending limits,
// anti-spoofing) with its state in Redis. Accounts, aliases and forwards from
// the stack.
import { oneLine } from "../../lib/stack/text";
import { dovecotValue, settingName } from "../../lib/stack/daemon-values";
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { CheckSpec, FileSpec, HandlerSpec, RoleState } from "../../lib/converge/types";
import { postmaster } from "../../lib/stack/derive";
import { dovecotScramSha256 } from "../../lib/stack/passwords";
import type { Stack } from "../../lib/stack/schema";
import { GENERATED } from "../../lib/stack/secrets";
import { durationSeconds } from "../../lib/stack/fields";
import { mustRelease } from "../../lib/stack/releases";
import { certPaths } from "../tls/role";
import { mailRecords } from "./dns";
import { MAIL_PORTS } from "./ports";
import { mailHostEdge } from "../edge/mail";
import { MEMBER_DAEMON, MEMBER_INVITES, MEMBER_KEY_CURVE, MEMBER_PASSWORDS, MEMBER_SOCKET, MEMBER_UNIT, MEMBER_USERDB, MEMBERS_DIR, MEMBERS_GROUP, memberFiles, memberHandlers } from "./members";
import { httpAnswer, imapsGreeting, PROBE_PACKAGE, smtpStarttls, smtpTls } from "../../lib/converge/probes";

const VMAIL_HOME = "/var/mail/vhosts";
/** Debian runs Postfix's daemons chrooted here; its start script copies /etc/resolv.conf in. */
const CHROOT_RESOLV_CONF = "/var/spool/postfix/etc/resolv.conf";
/** Redis listens here only (no TCP port); rspamd's user is in its group. */
export const REDIS_SOCKET = "/run/redis/redis-server.sock";
/** Redis's memory cap: rspamd's Bayes tokens and ratelimit buckets for a community pod fit many times over. */
const REDIS_MAX_MEMORY = "32mb";
/** rspamd's proxy worker: Postfix's milter. */
export const RSPAMD_MILTER_PORT = 11332;
/** rspamd's controller: rspamc learn_spam, learn_ham, stat. */
export const RSPAMD_CONTROLLER_PORT = 11334;
/** Maps rspamd reads by itself when they change (no reload): see rspamd.local.lua. */
const RSPAMD_MAPS = "/etc/rspamd/podkit";
const SENDER_LOGINS_MAP = `${RSPAMD_MAPS}/sender_logins.map`;
const POD_DOMAINS_MAP = `${RSPAMD_MAPS}/pod_domains.map`;
/** Debian's place for DKIM keys (OpenDKIM's before): the backups and the restore drill take it from here. */
const DKIM_KEYS = "/etc/dkimkeys";
/** The only programs Dovecot's Sieve scripts may run (sieve_pipe_bin_dir). */
const SIEVE_PIPE_DIR = "/usr/local/lib/podkit/sieve-pipe";
/** Global Sieve scripts: Junk filing before the member's own, and IMAPSieve learning. */
const SIEVE_SCRIPTS = ["spam-to-junk", "learn-spam", "learn-ham"];

/**
 * rspamd modules switched off, and why (roles/mail/README.md lists them too):
 * each becomes a local.d/<module>.conf saying `enabled = false` and the reason.
 */
export const RSPAMD_MODULES_OFF: Record<string, string> = {
  fuzzy_check: "it sends hashes of every message's text and attachments to rspamd.com's fuzzy storage.",
  rbl: "it looks up the addresses, URLs and domains found in each message in public DNS blocklists; the client's address is checked by postscreen already, before any mail is accepted.",
  surbl: "URL blocklists over public DNS: the links in members' mail would go to third parties (part of rbl in newer rspamd).",
  emails: "it looks up the mail addresses found in message bodies in public DNS blocklists.",
  asn: "it asks asn.rspamd.com which network each sender's address belongs to; only other modules turned off here use the answer.",
  url_redirector: "it fetches the links found in mail (HTTP requests to whatever a sender put in a message) to follow redirects.",
  history_redis: "it keeps the last messages' senders, recipients and subjects in Redis: a record of who wrote to whom.",
  neural: "a neural network trained in Redis: memory and CPU a small pod does not have, and it needs thousands of messages to learn.",
  reputation: "it keeps per-sender and per-domain scores in Redis: a record of who writes to the pod.",
  greylist: "greylisting delays a new correspondent's first message by minutes to hours, and spam senders mostly retry anyway.",
  replies: "it stores the Message-ID of every message members send, in Redis, to recognise replies: a record of whom members wrote to.",
  known_senders: "it keeps every sender address in Redis (Debian 13's rspamd): a record of who writes to the pod.",
  mx_check: "it looks up the MX of every sender domain and connects to it: outbound connections for a small score.",
  clickhouse: "an analytics export to a ClickHouse server the pod does not have.",
  elastic: "an export of every message's metadata to an Elasticsearch server the pod does not have.",
  metadata_exporter: "exports message metadata to other services; the pod sends none.",
  dcc: "asks an external DCC server about message checksums.",
  spamassassin: "SpamAssassin rule compatibility: the pod has no SpamAssassin rules.",
  rspamd_update: "downloads rule updates from updates.rspamd.com; rules come with Debian's package.",
  p0f: "asks a p0f daemon the pod does not run.",
};
/** Ends the open sessions of logins no longer in /etc/dovecot/users. */
const KICK_REMOVED = "/usr/local/sbin/podkit-mail-kick-removed";

/**
 * `postfix check` on the staged tree. It reports to syslog only, and to stderr just when that is a
 * terminal: when it refuses, it runs once more on one (script(1)) so its own message is shown,
 * journal or not. Role edge's Postfix is checked the same way.
 */
export const POSTFIX_CHECK: CheckSpec = {
  name: "postfix check", reads: ["/etc/postfix"],
  run: "postfix -c {stage}/etc/postfix check || { script -qec 'postfix -c {stage}/etc/postfix check' /dev/null </dev/null | tr -d '\\r'; exit 1; }",
};

/**
 * Postfix's chrooted daemons (smtpd's sender checks, postscreen's blocklist queries, DANE)
 * read the copy of resolv.conf Debian makes at start, never at reload: after the host's
 * resolver changed, the copy would keep asking the old one (one Spamhaus refuses, or one
 * that does not validate) until Postfix restarts.
 */
export const POSTFIX_CHROOT_RESOLVER: HandlerSpec = {
  name: "Postfix's chroot asks the host's resolver",
  when: ["/etc/postfix/main.cf", "/etc/postfix/master.cf"],
  unless: `cmp -s /etc/resolv.conf ${CHROOT_RESOLV_CONF}`,
  run: `install -D -m 644 /etc/resolv.conf ${CHROOT_RESOLV_CONF}`,
};

/** The smarthost's login (mail.relay) for Postfix's smtp client: on the mail host, or on its edge when it has one. */
export function relayPasswordFile(ctx: RoleContext, relay: NonNullable<Stack["mail"]>["relay"] & object): FileSpec {
  return {
    path: "/etc/postfix/sasl_passwd", mode: 0o600, secret: true,
    // A Postfix table has no quoting: one line per entry, the login a single word.
    content: `[${relay.host}]:${relay.port} ${oneLine("mail.relay.username", relay.username, true)}:${oneLine("the secret of mail.relay.password", ctx.secret(relay.password.secret))}\n`,
  };
}

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
    stop: ["postfix.service", "dovecot.service", "rspamd.service", "redis-server.service"],
    remove: [
      "/etc/postfix/vmailbox", "/etc/postfix/virtual", "/etc/postfix/sender_logins", "/etc/postfix/sasl_passwd",
      "/etc/dovecot/users", MEMBER_USERDB, MEMBER_DAEMON, `/etc/systemd/system/${MEMBER_UNIT}`, DKIM_KEYS, RSPAMD_MAPS, "/var/lib/redis/dump.rdb", "/etc/podkit/tls/reload.d/mail", KICK_REMOVED,
    ],
    keeps: `the mailboxes under ${VMAIL_HOME}: they are the users' mail, and go only with the host or a restore elsewhere; ${MEMBERS_DIR}, the members' own passwords, without which their encrypted mail cannot be read`,
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const m = stack.mail!;
    const quota = quotaField(ctx.profile.release);
    // Behind an edge, outgoing mail goes to the edge, and the smarthost (mail.relay) is the edge's (role edge).
    const edge = mailHostEdge(stack);
    const relay = m.relay && !edge ? { ...m.relay, wrapper: m.relay.port === 465 } : undefined;
    const view = {
      fqdn, ...certPaths(fqdn),
      domains: stack.domains.join(", "),
      postmaster: postmaster(stack),
      selector: m.dkim.selector,
      relay,
      edge: edge && { name: edge.edge, address: edge.address },
      dane: !relay && !edge,
      dnsbl: postscreenDnsbl(m.dnsbl),
      inetProtocols: ctx.profile.ipv6 ? "all" : "ipv4",
      ipv6: ctx.profile.ipv6,
      ports: MAIL_PORTS,
      rspamd: { milter: RSPAMD_MILTER_PORT, controller: RSPAMD_CONTROLLER_PORT },
      filter: m.filter,
      messages: m.limits.messages,
      limits: {
        recipientsPerMessage: m.limits.recipientsPerMessage,
        // smtpd_client_auth_rate_limit counts per anvil_rate_time_unit, 60 s by default.
        authAttemptsPerMinute: m.limits.authAttemptsPerMinute,
      },
      redisSocket: REDIS_SOCKET,
      redisMaxMemory: REDIS_MAX_MEMORY,
      dkimDomains: stack.domains.map((name) => ({ name })),
      keyPath: `${DKIM_KEYS}/${m.dkim.selector}.private`,
      senderLoginsMap: SENDER_LOGINS_MAP,
      podDomainsMap: POD_DOMAINS_MAP,
      sievePipeDir: SIEVE_PIPE_DIR,
      members: {
        group: MEMBERS_GROUP, passwords: MEMBER_PASSWORDS, invites: MEMBER_INVITES, dir: MEMBERS_DIR,
        userdb: MEMBER_USERDB, curve: MEMBER_KEY_CURVE, socket: MEMBER_SOCKET, socketDir: MEMBER_SOCKET.replace(/\/[^/]*$/, ""),
        dovecot24: mustRelease(ctx.profile.release).dovecot === "2.4",
      },
      // main.cf has no quoting: a line break in a value would start a parameter of its own.
      extra: Object.entries(m.postfix).map(([name, value]) => ({
        name: oneLine(`mail.postfix key ${JSON.stringify(name)}`, name, true),
        value: oneLine(`mail.postfix.${name}`, typeof value === "boolean" ? (value ? "yes" : "no") : String(value)),
      })),
      // Dovecot's quotes make a value text whatever it holds (lib/stack/daemon-values.ts).
      dovecotExtra: Object.entries(m.dovecot).map(([name, value]) => ({
        name: settingName("mail.dovecot", name),
        value: dovecotValue(`mail.dovecot.${name}`, value),
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
      { path: "/etc/dovecot/users", content: dovecotUsers(ctx, quota), mode: 0o640, group: "dovecot", secret: true },
      ...memberFiles(ctx, t, quota),
      ...SIEVE_SCRIPTS.map((name) => ({ path: `/etc/dovecot/sieve/${name}.sieve`, content: t(`etc/dovecot/sieve/${name}.sieve`) })),
      { path: `${SIEVE_PIPE_DIR}/rspamd-learn`, mode: 0o755, content: t("usr/local/lib/podkit/sieve-pipe/rspamd-learn") },
      { path: "/etc/redis/redis.conf", content: t("etc/redis/redis.conf"), group: "redis", mode: 0o640 },
      ...rspamdConfig(t, edge !== undefined),
      ...Object.entries(RSPAMD_MODULES_OFF).map(([module, why]) => ({
        path: `/etc/rspamd/local.d/${module}.conf`,
        content: renderTemplate("mail", "etc/rspamd/local.d/module-off.conf", { fqdn, module, why }, ctx.profile.release),
      })),
      { path: SENDER_LOGINS_MAP, content: maps.senderLogins },
      { path: POD_DOMAINS_MAP, content: `# Managed by podkit (role mail): this pod's mail domains. Edit the stack file, not this file.\n${stack.domains.map((d) => `${d}\n`).join("")}` },
      // rspamd reads the key when it signs; only its user may.
      { path: `${DKIM_KEYS}/${m.dkim.selector}.private`, content: ctx.secret(GENERATED.dkimKey), mode: 0o600, owner: "_rspamd", group: "_rspamd", secret: true },
      { path: "/etc/podkit/tls/reload.d/mail", mode: 0o755, content: t("etc/podkit/tls/reload.d/mail") },
      { path: KICK_REMOVED, mode: 0o755, content: t("usr/local/sbin/podkit-mail-kick-removed") },
    ];
    if (relay) files.push(relayPasswordFile(ctx, relay));

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
        "rspamd", "redis-server", "publicsuffix",
        // openssl s_client: the health probes talk to Postfix and Dovecot as a mail client does.
        PROBE_PACKAGE,
      ],
      // OpenDKIM and OpenDMARC did what rspamd does now: a pod set up before keeps neither running.
      retired: { units: ["opendkim.service", "opendmarc.service"], packages: ["opendkim", "opendmarc"] },
      users: [{ name: "vmail", home: VMAIL_HOME }],
      groups: [{ name: MEMBERS_GROUP }],
      // setgid like Debian's /var/mail, which new directories under it inherit anyway.
      dirs: [
        { path: VMAIL_HOME, mode: 0o2750, owner: "vmail", group: "vmail" },
        // OpenDKIM's package made it opendkim's on a pod from before: rspamd's now.
        { path: DKIM_KEYS, mode: 0o750, owner: "root", group: "_rspamd" },
        // Only the daemon writes here; Dovecot, Prosody and the account page read the passwords.
        { path: MEMBERS_DIR, mode: 0o750, owner: "root", group: MEMBERS_GROUP },
        { path: MEMBER_INVITES, mode: 0o700, owner: "root", group: "root" },
      ],
      files,
      checks: [
        POSTFIX_CHECK,
        { name: "doveconf", reads: ["/etc/dovecot"], run: "doveconf -n -c {stage}/etc/dovecot/dovecot.conf >/dev/null" },
        {
          // Debian's rspamd.conf includes everything through $CONFDIR and $LOCAL_CONFDIR: both point at the
          // staged tree, so the staged local.d, override.d and rspamd.local.lua are what is parsed and loaded.
          name: "rspamadm configtest", reads: ["/etc/rspamd"],
          run: "rspamadm --var=CONFDIR={stage}/etc/rspamd --var=LOCAL_CONFDIR={stage}/etc/rspamd configtest -c {stage}/etc/rspamd/rspamd.conf",
        },
        {
          // redis-server has no check mode: it starts on the staged file, on a socket of its own in {work}
          // (the later arguments win over the file's), must answer PING, and stops. A bad line stops it at once.
          name: "redis-server", reads: ["/etc/redis"],
          run: redisCheck,
        },
        {
          // Compiled as Dovecot would, with the staged dovecot.conf (its sieve plugins and extensions).
          name: "sievec", reads: ["/etc/dovecot"],
          run: SIEVE_SCRIPTS.map((n) => `sievec -c {stage}/etc/dovecot/dovecot.conf {stage}/etc/dovecot/sieve/${n}.sieve {work}/${n}.svbin`).join(" && "),
        },
      ],
      handlers: [
        postmap("vmailbox"), postmap("virtual"), postmap("sender_logins"),
        ...(relay ? [postmap("sasl_passwd")] : []),
        { name: "newaliases", when: ["/etc/aliases"], run: "newaliases" },
        ...memberHandlers(),
        POSTFIX_CHROOT_RESOLVER,
        // A removed account's open IMAP sessions end with its login.
        { name: "close the sessions of removed accounts", when: ["/etc/dovecot/users", MEMBER_USERDB], run: KICK_REMOVED },
        // Dovecot runs the global scripts as the mailbox owner, who cannot write next to them: compiled here, as root.
        // With the file named: without -c, Dovecot 2.4's sievec asks the running dovecot for its config, which is
        // still the old one until the reload after this (Debian's default, on a host where dovecot was installed
        // before podkit: no sieve plugins, so "unknown Sieve capability 'vnd.dovecot.pipe'").
        { name: "compile the global sieve scripts", when: ["/etc/dovecot/sieve/", "/etc/dovecot/dovecot.conf"], run: SIEVE_SCRIPTS.map((n) => `sievec -c /etc/dovecot/dovecot.conf /etc/dovecot/sieve/${n}.sieve`).join(" && ") },
        {
          // Redis's socket is group redis, mode 770. rspamd runs as _rspamd from systemd, which sets
          // the groups at start: once a member, rspamd starts again to have the group.
          name: "let rspamd reach redis's socket", when: [],
          unless: "id -nG _rspamd | tr ' ' '\\n' | grep -qx redis",
          run: "adduser --quiet _rspamd redis && systemctl try-restart rspamd.service",
        },
      ],
      services: [
        { unit: "redis-server.service", watch: ["/etc/redis/"], onChange: "restart" },
        // Members' invites, first passwords and changes (roles/mail/README.md, "Member-owned accounts").
        { unit: MEMBER_UNIT, watch: [MEMBER_DAEMON, `/etc/systemd/system/${MEMBER_UNIT}`], onChange: "restart" },
        // Not the maps under /etc/rspamd/podkit/ (accounts, aliases): rspamd re-reads those itself,
        // without dropping a connection. Its own config changes only with the stack's filter, limits,
        // domains or DKIM key: then a restart (a few seconds of 4xx tempfail, mail retried), because a
        // reload keeps the main process's memory from every config loaded before (measured: its heap
        // is most of rspamd's memory).
        { unit: "rspamd.service", watch: ["/etc/rspamd/local.d/", "/etc/rspamd/override.d/", "/etc/rspamd/rspamd.local.lua", `${DKIM_KEYS}/`], onChange: "restart", ports: [RSPAMD_MILTER_PORT, RSPAMD_CONTROLLER_PORT],
          probes: [httpAnswer(RSPAMD_CONTROLLER_PORT, "/ping", "pong")] },
        { unit: "dovecot.service", watch: ["/etc/dovecot/"], ports: [MAIL_PORTS.imaps, MAIL_PORTS.managesieve], probes: [imapsGreeting(MAIL_PORTS.imaps, fqdn)] },
        // `postfix check` passes a main.cf naming a certificate that is not there; a client then gets
        // "454 4.7.0 TLS not available": STARTTLS is what the probes check, with the host's name.
        {
          unit: "postfix.service", watch: ["/etc/postfix/"], ports: [MAIL_PORTS.smtp, MAIL_PORTS.submissions, MAIL_PORTS.submission],
          probes: [smtpStarttls(MAIL_PORTS.smtp, fqdn), smtpStarttls(MAIL_PORTS.submission, fqdn), smtpTls(MAIL_PORTS.submissions, fqdn)],
        },
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

/** rspamd's own config files: real files under templates/etc/rspamd/, rendered like main.cf. */
function rspamdConfig(t: (path: string) => string, behindEdge: boolean): FileSpec[] {
  return [
    "local.d/actions.conf", "local.d/classifier-bayes.conf", "local.d/dkim_signing.conf", "local.d/dmarc.conf",
    // Behind an edge, the real client is in the edge's Received header.
    ...(behindEdge ? ["local.d/external_relay.conf"] : []),
    "local.d/force_actions.conf", "local.d/milter_headers.conf", "local.d/phishing.conf", "local.d/ratelimit.conf",
    "local.d/redis.conf", "override.d/logging.inc", "override.d/options.inc", "override.d/worker-controller.inc",
    "override.d/worker-normal.inc", "override.d/worker-proxy.inc", "rspamd.local.lua",
  ].map((p) => ({ path: `/etc/rspamd/${p}`, content: t(`etc/rspamd/${p}`) }));
}

/**
 * Starts redis-server on the staged config with a socket, dir and pid file of its own in {work}, asks
 * PING, shuts it down. What it printed is shown when it did not answer.
 */
const redisCheck = [
  "redis-server {stage}/etc/redis/redis.conf --unixsocket {work}/redis.sock --pidfile {work}/redis.pid --dir {work} --logfile {work}/redis.log --save '' --daemonize no --supervised no >{work}/redis.out 2>&1 &",
  "pid=$!",
  "ok=; for i in $(seq 50); do redis-cli -s {work}/redis.sock ping 2>/dev/null | grep -qx PONG && { ok=1; break; }; kill -0 $pid 2>/dev/null || break; sleep 0.1; done",
  "redis-cli -s {work}/redis.sock shutdown nosave >/dev/null 2>&1; kill $pid 2>/dev/null; wait $pid 2>/dev/null",
  '[ -n "$ok" ] || { cat {work}/redis.out {work}/redis.log 2>/dev/null; exit 1; }',
].join("\n");

/**
 * The pod's addresses as Postfix's tables hold them: each account's mailbox, its
 * forward (a copy stays in the mailbox) and its aliases. The one reading of the
 * stack's accounts that postfixMaps and the edge's relay_recipients share.
 */
function addressEntries(stack: Stack): { mailboxes: string[]; virtual: [string, string][]; logins: [string, string][] } {
  const mailboxes: string[] = [];
  const virtual: [string, string][] = [];
  const logins: [string, string][] = [];
  for (const [address, account] of Object.entries(stack.accounts)) {
    const domain = address.slice(address.indexOf("@") + 1);
    mailboxes.push(address);
    logins.push([address, address]);
    // A forward keeps a copy in the mailbox: the address delivers to itself and the forward targets.
    if (account.forward.length) virtual.push([address, [address, ...account.forward].join(", ")]);
    for (const alias of account.aliases) {
      const full = alias.includes("@") ? alias : `${alias}@${domain}`;
      virtual.push([full, address]);
      logins.push([full, address]);
    }
  }
  return { mailboxes, virtual, logins };
}

/**
 * Every address of the pod's domains the mail host accepts mail for (a mailbox or an alias), in
 * the stack's order: an MX in front of it (role edge) takes exactly these.
 */
export function acceptedAddresses(stack: Stack): string[] {
  const { mailboxes, virtual } = addressEntries(stack);
  return [...new Set([...mailboxes, ...virtual.map(([address]) => address)])];
}

/** Postfix lookup tables: which addresses have mailboxes, where aliases go, who may send as what. */
export function postfixMaps(stack: Stack): { vmailbox: string; virtual: string; senderLogins: string } {
  const header = (what: string) => `# Managed by podkit (role mail): ${what}. Edit the stack file, not this file.\n`;
  const { mailboxes, virtual, logins } = addressEntries(stack);
  const lines = (entries: string[]) => entries.map((l) => `${l}\n`).join("");
  return {
    vmailbox: header("mailboxes that exist") + lines(mailboxes.map((a) => `${a} OK`)),
    virtual: header("aliases and forwards") + lines(virtual.map(([a, to]) => `${a} ${to}`)),
    senderLogins: header("which login may send as which address") + lines(logins.map(([a, login]) => `${a} ${login}`)),
  };
}

/**
 * Dovecot's passwd-file of the accounts whose password the stack sets: address, password hash, quota.
 * Member-owned accounts (no password in the stack) are in ./members.ts's file instead: a line here
 * with an empty password field could mean "any password".
 */
function dovecotUsers(ctx: RoleContext, quota: (size: string) => string): string {
  return Object.entries(ctx.stack.accounts)
    .flatMap(([address, a]) => (a.password
      ? [`${address}:${dovecotScramSha256(address, ctx.secret(a.password.secret), ctx.secret(GENERATED.passwordSalt))}::::::${quota(a.quota)}\n`]
      : []))
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
