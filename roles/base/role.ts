// base: what every host of a pod needs before any service — the host's name,
// SSH that accepts keys only, a default-drop firewall with exactly the pod's
// ports that bans password guessers, its own validating resolver, automatic
// security updates, clock sync, and short-lived logs.
import { isIP } from "node:net";
import { renderTemplate } from "../../lib/converge/template";
import type { Role, RoleContext } from "../../lib/converge/role";
import type { RoleState } from "../../lib/converge/types";
import { podPorts, portSpec } from "../../lib/stack/ports";
import { keepsOwnClock } from "../../lib/stack/profile";
import { bareKey } from "../../lib/ssh/keys";
import { authorizedKeysPath } from "../../lib/ssh/login-key";
import { banFollower, banRules, banSettings } from "./banning";
import { dataVolume } from "./data-volume";
import { localResolver } from "./resolver";
import { boxFirewall, edgeFirewall } from "../tunnel/forwarding";

export const base: Role = {
  name: "base",
  after: {},
  appliesTo: () => true,
  ports: [{ protocol: "tcp", port: 22, service: "ssh", why: "SSH for admins and podkit (keys only)", adminsOnly: true }],
  removal: { stop: [], remove: [], keeps: "everything: every host runs base, so it goes only with the host" },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const short = fqdn.split(".")[0];
    const t = (path: string, view: Record<string, unknown>) => renderTemplate("base", path, { fqdn, ...view }, ctx.profile.release);
    // A host that cannot load nftables rules (an unprivileged container) gets
    // none: a unit that can never start would fail every apply. podkit says on
    // every apply that the machine outside must firewall it (lib/converge/host-facts.ts).
    // Where it can, the table is "inet" whether or not the host has IPv6: the
    // ip6 half costs nothing and guards the host the day IPv6 reaches it.
    const firewall = ctx.profile.firewall;
    const volume = ctx.profile.dataVolume ? dataVolume(fqdn, ctx.profile.dataVolume) : { files: [], handlers: [], services: [] };
    const resolver = localResolver(fqdn, ctx.profile);
    // Bans live in the firewall: a host without one of its own bans nothing.
    const bans = firewall ? banSettings(stack) : false;
    const ban = bans ? banFollower(fqdn, bans) : { files: [], handlers: [], services: [] };
    return {
      role: "base",
      // A container shares the outer machine's clock, and systemd-timesyncd
      // refuses to run there (ConditionVirtualization=!container).
      packages: [...(firewall ? ["nftables"] : []), "unattended-upgrades", ...(keepsOwnClock(ctx.profile) ? ["systemd-timesyncd"] : []), ...resolver.packages],
      files: [
        { path: "/etc/hostname", content: `${short}\n` },
        { path: "/etc/hosts", content: `127.0.0.1\tlocalhost\n127.0.1.1\t${fqdn} ${short}\n::1\tlocalhost ip6-localhost ip6-loopback\n` },
        { path: "/etc/mailname", content: `${fqdn}\n` },
        ...(firewall ? [{ path: "/etc/nftables.conf", mode: 0o755, content: t("etc/nftables.conf", nftablesView(ctx, bans)) }] : []),
        { path: "/etc/ssh/sshd_config.d/podkit.conf", content: t("etc/ssh/sshd_config.d/podkit.conf", { addressFamily: ctx.profile.ipv6 ? "any" : "inet" }) },
        { path: authorizedKeysPath("root"), content: t("etc/ssh/authorized_keys.d/root", authorizedKeys(ctx)) },
        { path: "/etc/apt/apt.conf.d/20auto-upgrades", content: t("etc/apt/apt.conf.d/20auto-upgrades", {}) },
        { path: "/etc/systemd/journald.conf.d/podkit.conf", content: t("etc/systemd/journald.conf.d/podkit.conf", { days: stack.privacy.logRetentionDays }) },
        ...resolver.files,
        ...ban.files,
        ...volume.files,
      ],
      checks: [
        ...(firewall ? [{ name: "nft -c", reads: ["/etc/nftables.conf"], run: "nft -c -f {stage}/etc/nftables.conf" }] : []),
        {
          // sshd_config includes its drop-ins by absolute path: check a copy that includes the staged ones.
          name: "sshd -t", reads: ["/etc/ssh"],
          run: "sed 's#/etc/ssh/sshd_config.d#{stage}/etc/ssh/sshd_config.d#' {stage}/etc/ssh/sshd_config > {work}/sshd_config && sshd -t -f {work}/sshd_config",
        },
        ...resolver.checks,
      ],
      handlers: [
        { name: "set hostname", when: ["/etc/hostname"], run: "hostname -F /etc/hostname" },
        ...volume.handlers,
        ...ban.handlers,
        ...resolver.handlers,
      ],
      services: [
        // The data mounts first: nothing after them may write where the volume goes.
        ...volume.services,
        ...(firewall ? [{ unit: "nftables.service", watch: ["/etc/nftables.conf"], onChange: "restart" as const }] : []),
        ...ban.services,
        // Before the roles after base start their daemons: Postfix, rspamd and
        // Prosody find it answering (the handler then points resolv.conf at it).
        ...resolver.services,
        { unit: "ssh.service", watch: ["/etc/ssh/"], ports: [22] },
        { unit: "systemd-journald.service", watch: ["/etc/systemd/journald.conf.d/"], onChange: "restart" },
        ...(keepsOwnClock(ctx.profile) ? [{ unit: "systemd-timesyncd.service", watch: [] }] : []),
      ],
      // unattended-upgrades.service is not the upgrades (apt-daily-upgrade.timer runs
      // those) but a Python process that sits idle all day (14 MB) to wait at shutdown
      // for an upgrade still running. apt-daily-upgrade.service already gives a running
      // upgrade that wait (KillMode=process, TimeoutStopSec=900), and unattended-upgrade
      // stops cleanly between packages on SIGTERM: stopped and disabled, package kept.
      retired: { units: ["unattended-upgrades.service"] },
    };
  },
};

/**
 * Root's keys: the admins', then podkit's own login key unless an admin key is
 * that key. sshd reads this file alone, so without podkit's key here the apply
 * that installs it would be podkit's last.
 */
function authorizedKeys(ctx: RoleContext): { adminKeys: string[]; loginKey: string | false } {
  const adminKeys = ctx.stack.admin.sshKeys;
  const login = ctx.loginKey;
  const known = login !== undefined && adminKeys.some((k) => bareKey(k) === bareKey(login));
  // The key alone, without its comment: both front doors then write the same file for the same key.
  return { adminKeys, loginKey: login !== undefined && !known ? bareKey(login) : false };
}

/** nftables.conf: the host's own ports and bans; on the tunnel's sides, the edge's forwarding or the box's way out (roles/tunnel/forwarding.ts). */
function nftablesView(ctx: RoleContext, bans: ReturnType<typeof banSettings>): Record<string, unknown> {
  return { rules: firewallRules(ctx), ban: banRules(bans), edge: edgeFirewall(ctx.stack, ctx.host), box: boxFirewall(ctx.stack, ctx.host) };
}

/** The input chain's accept rules: the ports this host serves itself (the ones an edge forwards never reach it). */
function firewallRules(ctx: RoleContext): { rule: string; why: string }[] {
  return podPorts(ctx.stack, ctx.host).filter((p) => !p.forwardTo).flatMap((p) => {
    const match = `${p.protocol} dport ${portSpec(p)} accept`;
    if (!p.from) return [{ rule: match, why: p.why }];
    const v4 = p.from.filter((c) => isIP(c.split("/")[0]) === 4);
    const v6 = p.from.filter((c) => isIP(c.split("/")[0]) === 6);
    return [
      ...(v4.length ? [{ rule: `ip saddr { ${v4.join(", ")} } ${match}`, why: `${p.why}, from admin addresses` }] : []),
      ...(v6.length ? [{ rule: `ip6 saddr { ${v6.join(", ")} } ${match}`, why: `${p.why}, from admin addresses` }] : []),
    ];
  });
}
