// xmpp: Prosody for chat (clients, federation, group chats, file upload,
// archive, push, and credentials for calls through role turn's coturn). The same accounts and passwords as
// mail (mod_auth_podkit: stack passwords as account files, member-owned ones
// from the member password file); shared roster groups from the stack; no
// open registration.
import { oneLine } from "../../lib/stack/text";
import { luaValue, settingName } from "../../lib/stack/daemon-values";
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import { mustRelease } from "../../lib/stack/releases";
import type { DirSpec, FileSpec, RoleState } from "../../lib/converge/types";
import { postmaster, primaryDomain } from "../../lib/stack/derive";
import { prosodyScramSha256 } from "../../lib/stack/passwords";
import { GENERATED } from "../../lib/stack/secrets";
import { certPaths } from "../tls/role";
import { chatRecords } from "./dns";
import { XMPP_PORTS } from "./ports";
import { PROBE_PACKAGE, xmppStarttls, xmppTls } from "../../lib/converge/probes";
import { TURN_PORTS } from "../turn/ports";
import { turnName } from "../turn/role";
import { MEMBER_PASSWORDS, MEMBER_SOCKET, MEMBERS_GROUP } from "../mail/members";

/** Logs each failed login with the client's address: what podkit-ban (role base) counts. */
const AUTH_LOG_MODULE = "/usr/local/lib/prosody/modules/mod_podkit_auth_log.lua";
/** Prosody's accounts: stack passwords as internal_hashed, member-owned ones from the member password file. */
const AUTH_MODULE = "/usr/local/lib/prosody/modules/mod_auth_podkit.lua";
/** A member's password change from their chat client (XEP-0077), through the root daemon podkit-member. */
const PASSWORD_MODULE = "/usr/local/lib/prosody/modules/mod_podkit_password.lua";
/**
 * The member-owned accounts (no password in the stack), for mod_auth_podkit, which re-reads the file when
 * it changes. Prosody watches it all the same: its first member account is when Prosody joins group
 * podkit-members, which takes a restart (adding a member account is rare, like a groups.txt change).
 */
const MEMBER_ACCOUNTS = "/etc/podkit/xmpp/member-accounts";
/** The group that may read the member password file and talk to podkit-member (made by role mail, on the same host). */
const MODULES = [AUTH_LOG_MODULE, AUTH_MODULE, PASSWORD_MODULE];

/** Prosody's file storage encodes every non-alphanumeric character as %xx (util/datamanager.lua). */
const encode = (s: string) => s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

/** Lists (and removes) account files of accounts no longer in the stack. */
const STALE_ACCOUNTS = "/usr/local/sbin/podkit-chat-stale-accounts";

export const xmpp: Role = {
  name: "xmpp",
  after: {
    tls: "Prosody starts with the host's certificate",
    mail: "Prosody checks passwords against the mail accounts, and reads the member password file as group podkit-members, which role mail makes",
  },
  appliesTo: (stack, host) => stack.chat?.host === host,
  ports: [
    { protocol: "tcp", port: XMPP_PORTS.client, service: "xmpp-client", why: "XMPP clients (STARTTLS)" },
    { protocol: "tcp", port: XMPP_PORTS.clientTls, service: "xmpps-client", why: "XMPP clients over direct TLS (XEP-0368)" },
    { protocol: "tcp", port: XMPP_PORTS.server, service: "xmpp-server", why: "XMPP federation with other servers" },
    { protocol: "tcp", port: XMPP_PORTS.serverTls, service: "xmpps-server", why: "XMPP federation over direct TLS (XEP-0368)" },
    // File upload (XEP-0363) is served by Prosody itself on its HTTPS port,
    // not proxied through nginx on 443: the chat host then needs no web server,
    // and it can be a different host from the mail host (which owns 443).
    { protocol: "tcp", port: XMPP_PORTS.upload, service: "xmpp-upload", why: "file upload and download (Prosody HTTPS, XEP-0363)" },
  ],
  // XMPP clients and servers check the certificate against the domain itself
  // (RFC 6120 13.7.2), and the CA validates that name over HTTP at the
  // domain's own address. A website for the domain elsewhere must then live
  // at www., or forward /.well-known/acme-challenge/ to the pod.
  names: (stack, host) => stack.domains.flatMap((d) => [
    { name: d, why: "the XMPP domain: its certificate is validated at this address" },
    { name: `conference.${d}`, why: `conference service on host ${host}` },
    { name: `upload.${d}`, why: `upload service on host ${host}` },
  ]),
  records: (stack) => chatRecords(stack),
  removal: {
    stop: ["prosody.service"],
    remove: ["/etc/prosody/prosody.cfg.lua", "/etc/prosody/groups.txt", "/usr/local/sbin/podkit-chat-certs", STALE_ACCOUNTS, "/etc/podkit/tls/reload.d/xmpp", ...MODULES, MEMBER_ACCOUNTS],
    keeps: "chat archives, rosters and uploads under /var/lib/prosody: they are the users' data",
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const chat = stack.chat!;
    const turnSecret = ctx.secret(GENERATED.turnSecret);
    const view = {
      fqdn,
      memberAccounts: MEMBER_ACCOUNTS, memberPasswords: MEMBER_PASSWORDS, memberSocket: MEMBER_SOCKET,
      admins: Object.entries(stack.accounts).filter(([, a]) => a.admin).map(([address]) => address),
      domains: stack.domains.map((domain) => ({ domain })),
      uploadHost: `upload.${primaryDomain(stack)}`,
      uploadBytes: sizeBytes(chat.upload.maxSize),
      uploadSeconds: chat.upload.expireDays * 86400,
      archiveDays: chat.archiveDays,
      // Calls: coturn (role turn) on the chat host, or on its edge; the secret is the pod's one turn-secret.
      turnSecret,
      turn: { host: turnName(stack), ports: TURN_PORTS },
      postmaster: postmaster(stack),
      abuse: `abuse@${primaryDomain(stack)}`,
      ports: XMPP_PORTS,
      ipv6: ctx.profile.ipv6,
      ...certPaths(fqdn),
      // Lua literals only (lib/stack/daemon-values.ts): a value is data, never Lua that runs.
      options: Object.entries(chat.prosody).map(([name, value]) => ({
        name: settingName("chat.prosody", name, true),
        value: luaValue(`chat.prosody.${name}`, value),
      })),
    };
    const t = (path: string) => renderTemplate("xmpp", path, view, ctx.profile.release);
    const { dirs, files: accounts } = accountFiles(ctx);
    const live = certPaths(fqdn).fullchain;
    return {
      role: "xmpp",
      // Push (cloud_notify) and stream management (smacks) are Prosody 13's own; 0.12 needs the community modules.
      packages: ["prosody", ...(mustRelease(ctx.profile.release).prosody === "0.12" ? ["prosody-modules"] : []), PROBE_PACKAGE],
      // Prosody's own data directory, owned as Debian makes it, said here because on a
      // host with a data volume it is a mount point the base role made before Prosody existed.
      dirs: [{ path: "/var/lib/prosody", mode: 0o750, owner: "prosody", group: "prosody" }, ...dirs],
      files: [
        { path: "/etc/prosody/prosody.cfg.lua", content: t("etc/prosody/prosody.cfg.lua"), group: "prosody", mode: 0o640, secret: true },
        { path: "/etc/prosody/groups.txt", content: groupsFile(ctx), group: "prosody", mode: 0o640 },
        { path: "/usr/local/sbin/podkit-chat-certs", mode: 0o755, content: t("usr/local/sbin/podkit-chat-certs") },
        { path: STALE_ACCOUNTS, mode: 0o755, content: renderTemplate("xmpp", "usr/local/sbin/podkit-chat-stale-accounts", { keep: accountFilesKept(ctx) }, ctx.profile.release) },
        { path: "/etc/podkit/tls/reload.d/xmpp", mode: 0o755, content: t("etc/podkit/tls/reload.d/xmpp") },
        ...MODULES.map((path) => ({ path, content: t(path.slice(1)) })),
        { path: MEMBER_ACCOUNTS, content: memberAccountsFile(ctx), group: "prosody", mode: 0o640 },
        ...accounts,
      ],
      checks: [{
        name: "prosodyctl check config", reads: ["/etc/prosody"],
        run: "prosodyctl --config {stage}/etc/prosody/prosody.cfg.lua check config",
      }],
      handlers: [...(memberAccounts(ctx).length ? [{
        // Prosody reads the member password file and talks to podkit-member as a member of
        // their group, which it joins at its next start: due with the list of member accounts,
        // whose first version restarts Prosody (it is watched).
        name: `prosody in group ${MEMBERS_GROUP}`, when: [MEMBER_ACCOUNTS], run: `usermod -a -G ${MEMBERS_GROUP} prosody`,
        unless: `id -nG prosody | tr ' ' '\\n' | grep -qx ${MEMBERS_GROUP}`,
      }] : []), {
        // Due when the stack's accounts change (the script lists them), or when a stale account file is there anyway.
        name: "remove chat accounts not in the stack", when: [STALE_ACCOUNTS], run: `${STALE_ACCOUNTS} --remove`,
        unless: `[ -z "$(${STALE_ACCOUNTS})" ]`,
      }, {
        name: "certificate for prosody", when: ["/usr/local/sbin/podkit-chat-certs"], run: "/usr/local/sbin/podkit-chat-certs",
        unless: `cmp -s ${live} /etc/prosody/certs/pod.crt`,
      }],
      services: [
        // Prosody's reload re-reads modules' settings but binds no new ports: a changed config restarts it.
        { unit: "prosody.service", watch: ["/etc/prosody/", ...MODULES, MEMBER_ACCOUNTS], onChange: "restart", ports: [XMPP_PORTS.client, XMPP_PORTS.clientTls, XMPP_PORTS.server, XMPP_PORTS.serverTls, XMPP_PORTS.upload],
          // A client asks for the XMPP domain, and the certificate must be valid for it.
          probes: [xmppStarttls(XMPP_PORTS.client, primaryDomain(stack)), xmppTls(XMPP_PORTS.clientTls, primaryDomain(stack))] },
      ],
    };
  },
};

/** One account file per account, in Prosody's own storage, written the way Prosody writes them. */
function accountFiles(ctx: RoleContext): { dirs: DirSpec[]; files: FileSpec[] } {
  const dirs = new Map<string, DirSpec>();
  const files: FileSpec[] = [];
  for (const [address, account] of Object.entries(ctx.stack.accounts)) {
    // A member-owned account has no account file: mod_auth_podkit reads its member's password.
    if (!account.password) continue;
    const [user, domain] = address.split("@");
    const dir = `/var/lib/prosody/${encode(domain)}/accounts`;
    dirs.set(`/var/lib/prosody/${encode(domain)}`, { path: `/var/lib/prosody/${encode(domain)}`, mode: 0o750, owner: "prosody" });
    dirs.set(dir, { path: dir, mode: 0o750, owner: "prosody" });
    const rec = prosodyScramSha256(address, ctx.secret(account.password.secret), ctx.secret(GENERATED.passwordSalt));
    const lua = `return {\n${Object.entries(rec).sort().map(([k, v]) => `\t["${k}"] = ${typeof v === "number" ? v : `"${v}"`};`).join("\n")}\n};\n`;
    files.push({ path: `${dir}/${encode(user)}.dat`, content: lua, owner: "prosody", mode: 0o640, secret: true });
  }
  return { dirs: [...dirs.values()], files };
}

/**
 * The account files the stack keeps, as paths: every other account file is a removed account's,
 * or that of an account whose password the stack no longer holds (now its member's): its old
 * password must not open it, and it is removed too.
 */
function accountFilesKept(ctx: RoleContext): string[] {
  return Object.entries(ctx.stack.accounts).filter(([, a]) => a.password).map(([address]) => {
    const [user, domain] = address.split("@");
    return `/var/lib/prosody/${encode(domain)}/accounts/${encode(user)}.dat`;
  }).sort();
}

/** The accounts whose member sets their own password (none in the stack). */
function memberAccounts(ctx: RoleContext): string[] {
  return Object.entries(ctx.stack.accounts).filter(([, a]) => !a.password).map(([address]) => address).sort();
}

function memberAccountsFile(ctx: RoleContext): string {
  const lines = ["# Managed by podkit (role xmpp): the accounts whose member sets their own password (mod_auth_podkit)."];
  return `${[...lines, ...memberAccounts(ctx)].join("\n")}\n`;
}

/** mod_groups' file: [Group name] then member=Display name lines. */
function groupsFile(ctx: RoleContext): string {
  const lines = ["# Managed by podkit (role xmpp): shared roster groups from the stack's groups and accounts."];
  for (const [id, group] of Object.entries(ctx.stack.groups)) {
    // One entry per line and no quoting: a line break in a name would add a group or a member.
    lines.push(`[${oneLine(`groups.${id}.name`, group.name)}]`);
    for (const [address, account] of Object.entries(ctx.stack.accounts)) {
      if (account.groups.includes(id)) lines.push(`${address}=${oneLine(`accounts["${address}"].name`, account.name ?? address.split("@")[0])}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function sizeBytes(size: string): number {
  const units: Record<string, number> = { K: 1 << 10, M: 1 << 20, G: 1 << 30, T: 2 ** 40 };
  return Number(size.slice(0, -1)) * units[size.at(-1)!];
}
