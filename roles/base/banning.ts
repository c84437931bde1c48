// Banning password guessers (stack field `banning`): a small journal follower,
// podkit-ban.service (journalctl | mawk | nft), counts failed logins per address
// over Postfix submission, Dovecot's IMAP and ManageSieve logins and Prosody, and
// adds an address over the limit to an nftables set with a timeout; the ruleset
// (templates/etc/nftables.conf) drops new connections from the set's addresses,
// the admins' (admin.sshFrom) excepted. Why this and not fail2ban or sshguard:
// README.md, "Banning password guessers".
import { isIP } from "node:net";
import { renderTemplate } from "../../lib/converge/template";
import type { FileSpec, HandlerSpec, ServiceSpec } from "../../lib/converge/types";
import { durationSeconds } from "../../lib/stack/fields";
import type { Stack } from "../../lib/stack/schema";

export const BAN_UNIT = "podkit-ban.service";
export const BAN_SCRIPT = "/usr/local/sbin/podkit-ban";
export const BAN_AWK = "/usr/local/lib/podkit/ban.awk";
const UNIT_FILE = `/etc/systemd/system/${BAN_UNIT}`;
/** The host itself is never banned (a local client failing, a daemon asking itself). */
const LOOPBACK = ["127.0.0.0/8", "::1/128"];

/** The limits in seconds, and what is never banned; false when the stack turns banning off. */
export interface BanSettings {
  failures: number;
  within: number;
  banFor: number;
  /** Never banned: loopback and the admins' ranges. */
  never: string[];
}

export function banSettings(stack: Stack): BanSettings | false {
  if (stack.banning === false) return false;
  return {
    failures: stack.banning.failures,
    within: durationSeconds(stack.banning.within),
    banFor: durationSeconds(stack.banning.for),
    never: [...LOOPBACK, ...(stack.admin.sshFrom ?? [])],
  };
}

/** The ruleset's view: the sets and the drop rules, each sparing the admins' ranges of its family. */
export function banRules(settings: BanSettings | false): false | Record<string, unknown> {
  if (!settings) return false;
  const admins = settings.never.filter((c) => !LOOPBACK.includes(c));
  const spare = (family: 4 | 6, keyword: string) => {
    const nets = admins.filter((c) => isIP(c.split("/")[0]) === family);
    return nets.length ? `${keyword} saddr != { ${nets.join(", ")} } ` : "";
  };
  return { ...settings, spare4: spare(4, "ip"), spare6: spare(6, "ip6") };
}

export interface BanParts {
  files: FileSpec[];
  handlers: HandlerSpec[];
  services: ServiceSpec[];
}

export function banFollower(fqdn: string, settings: BanSettings): BanParts {
  const view = { fqdn, ...settings, never: settings.never.join(" ") };
  const t = (path: string) => renderTemplate("base", path, view);
  const files: FileSpec[] = [
    { path: BAN_AWK, content: t("usr/local/lib/podkit/ban.awk") },
    { path: BAN_SCRIPT, mode: 0o755, content: t("usr/local/sbin/podkit-ban") },
    { path: UNIT_FILE, content: t("etc/systemd/system/podkit-ban.service") },
  ];
  return {
    files,
    handlers: [{ name: "systemctl daemon-reload (podkit-ban)", when: [UNIT_FILE], run: "systemctl daemon-reload" }],
    // Restarted with the firewall too: a reload empties the sets, and a fresh
    // start reads the last `within` seconds again and bans whoever is still over.
    services: [{ unit: BAN_UNIT, watch: [BAN_AWK, BAN_SCRIPT, UNIT_FILE, "/etc/nftables.conf"], onChange: "restart" }],
  };
}
