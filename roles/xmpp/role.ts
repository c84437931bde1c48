// xmpp: Prosody for chat (clients, federation, group chats, file upload,
// archive, push) and coturn for calls. The same accounts and passwords as
// mail; shared roster groups from the stack; no open registration.
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import type { DirSpec, FileSpec, RoleState } from "../../lib/converge/types";
import { postmaster, primaryDomain } from "../../lib/stack/derive";
import { prosodyScramSha1 } from "../../lib/stack/passwords";
import { derivedSecret, GENERATED } from "../../lib/stack/secrets";
import { certPaths } from "../tls/role";

/** Prosody's file storage encodes every non-alphanumeric character as %xx (util/datamanager.lua). */
const encode = (s: string) => s.replace(/[^A-Za-z0-9]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);

/**
 * TURN must never relay into private networks (RFC 1918, loopback, link-local,
 * CGNAT, ULA): each block as CIDR (how a host profile names its local ones) and
 * as coturn's denied-peer-ip range.
 */
const PRIVATE_RANGES: [cidr: string, range: string][] = [
  ["0.0.0.0/8", "0.0.0.0-0.255.255.255"], ["10.0.0.0/8", "10.0.0.0-10.255.255.255"], ["100.64.0.0/10", "100.64.0.0-100.127.255.255"],
  ["127.0.0.0/8", "127.0.0.0-127.255.255.255"], ["169.254.0.0/16", "169.254.0.0-169.254.255.255"], ["172.16.0.0/12", "172.16.0.0-172.31.255.255"],
  ["192.168.0.0/16", "192.168.0.0-192.168.255.255"], ["::1/128", "::1"], ["fc00::/7", "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
  ["fe80::/10", "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"],
];

export const xmpp: Role = {
  name: "xmpp",
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const chat = stack.chat!;
    const turnSecret = derivedSecret(ctx.secret(GENERATED.dkimKey), "turn");
    const view = {
      fqdn,
      admins: Object.entries(stack.accounts).filter(([, a]) => a.admin).map(([address]) => address),
      domains: stack.domains.map((domain) => ({ domain })),
      uploadHost: `upload.${primaryDomain(stack)}`,
      uploadBytes: sizeBytes(chat.upload.maxSize),
      uploadSeconds: chat.upload.expireDays * 86400,
      archiveDays: chat.archiveDays,
      turnSecret,
      realm: primaryDomain(stack),
      postmaster: postmaster(stack),
      abuse: `abuse@${primaryDomain(stack)}`,
      // A host whose own network is private relays to the peers on it, and to no other private block.
      deniedPeers: PRIVATE_RANGES.filter(([cidr]) => !ctx.profile.localRanges.includes(cidr)).map(([, range]) => range),
      ...certPaths(fqdn),
    };
    const t = (path: string) => renderTemplate("xmpp", path, view);
    const { dirs, files: accounts } = accountFiles(ctx);
    const live = certPaths(fqdn).fullchain;
    return {
      role: "xmpp",
      packages: ["prosody", "prosody-modules", "coturn"],
      // Prosody's own data directory, owned as Debian makes it, said here because on a
      // host with a data volume it is a mount point the base role made before Prosody existed.
      dirs: [{ path: "/var/lib/prosody", mode: 0o750, owner: "prosody", group: "prosody" }, ...dirs],
      files: [
        { path: "/etc/prosody/prosody.cfg.lua", content: t("etc/prosody/prosody.cfg.lua"), group: "prosody", mode: 0o640, secret: true },
        { path: "/etc/prosody/groups.txt", content: groupsFile(ctx), group: "prosody", mode: 0o640 },
        { path: "/etc/turnserver.conf", content: t("etc/turnserver.conf"), group: "turnserver", mode: 0o640, secret: true },
        { path: "/usr/local/sbin/podkit-chat-certs", mode: 0o755, content: t("usr/local/sbin/podkit-chat-certs") },
        { path: "/etc/podkit/tls/reload.d/xmpp", mode: 0o755, content: t("etc/podkit/tls/reload.d/xmpp") },
        ...accounts,
      ],
      checks: [{
        name: "prosodyctl check config", reads: ["/etc/prosody"],
        run: "prosodyctl --config {stage}/etc/prosody/prosody.cfg.lua check config",
      }],
      handlers: [removeStaleAccounts(ctx), {
        name: "certificates for prosody and coturn", when: ["/usr/local/sbin/podkit-chat-certs"], run: "/usr/local/sbin/podkit-chat-certs",
        unless: `cmp -s ${live} /etc/prosody/certs/pod.crt && cmp -s ${live} /etc/coturn/certs/pod.crt`,
      }],
      services: [
        // Prosody's reload re-reads modules' settings but binds no new ports: a changed config restarts it.
        { unit: "prosody.service", watch: ["/etc/prosody/"], onChange: "restart", ports: [5222, 5223, 5269, 5270, 5281] },
        { unit: "coturn.service", watch: ["/etc/turnserver.conf", "/etc/coturn/"], onChange: "restart", ports: [3478] },
      ],
    };
  },
};

/** One account file per account, in Prosody's own storage, written the way Prosody writes them. */
function accountFiles(ctx: RoleContext): { dirs: DirSpec[]; files: FileSpec[] } {
  const dirs = new Map<string, DirSpec>();
  const files: FileSpec[] = [];
  for (const [address, account] of Object.entries(ctx.stack.accounts)) {
    const [user, domain] = address.split("@");
    const dir = `/var/lib/prosody/${encode(domain)}/accounts`;
    dirs.set(`/var/lib/prosody/${encode(domain)}`, { path: `/var/lib/prosody/${encode(domain)}`, mode: 0o750, owner: "prosody" });
    dirs.set(dir, { path: dir, mode: 0o750, owner: "prosody" });
    const rec = prosodyScramSha1(address, ctx.secret(account.password.secret));
    const lua = `return {\n${Object.entries(rec).sort().map(([k, v]) => `\t["${k}"] = ${typeof v === "number" ? v : `"${v}"`};`).join("\n")}\n};\n`;
    files.push({ path: `${dir}/${encode(user)}.dat`, content: lua, owner: "prosody", mode: 0o640, secret: true });
  }
  return { dirs: [...dirs.values()], files };
}

/**
 * An account removed from the stack must not log in to chat any more: its
 * account file goes (its archive and roster stay, like its mailbox does).
 */
function removeStaleAccounts(ctx: RoleContext) {
  const byDomain = new Map<string, string[]>();
  for (const address of Object.keys(ctx.stack.accounts)) {
    const [user, domain] = address.split("@");
    byDomain.set(domain, [...(byDomain.get(domain) ?? []), `${encode(user)}.dat`]);
  }
  const stale = [...byDomain].map(([domain, keep]) =>
    `find /var/lib/prosody/${encode(domain)}/accounts -maxdepth 1 -name '*.dat' ${keep.map((k) => `! -name '${k}'`).join(" ")}`).join("; ");
  return { name: "remove chat accounts not in the stack", when: [], run: `{ ${stale}; } | xargs -r rm -f`, unless: `[ -z "$({ ${stale}; } 2>/dev/null)" ]` };
}

/** mod_groups' file: [Group name] then member=Display name lines. */
function groupsFile(ctx: RoleContext): string {
  const lines = ["# Managed by podkit (role xmpp): shared roster groups from the stack's groups and accounts."];
  for (const [id, group] of Object.entries(ctx.stack.groups)) {
    lines.push(`[${group.name}]`);
    for (const [address, account] of Object.entries(ctx.stack.accounts)) {
      if (account.groups.includes(id)) lines.push(`${address}=${account.name ?? address.split("@")[0]}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

function sizeBytes(size: string): number {
  const units: Record<string, number> = { K: 1 << 10, M: 1 << 20, G: 1 << 30, T: 2 ** 40 };
  return Number(size.slice(0, -1)) * units[size.at(-1)!];
}
