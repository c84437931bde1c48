// check: the pod's own state, judged on each host by one script
// (/usr/local/sbin/podkit-check): every service the host's roles run active,
// the mail queue moving, disk and inodes, the last backup and backup check,
// security updates and reboots, certificate renewal, the clock, outgoing
// port 25. `podkit check` runs that same script over SSH; a daily timer runs
// it on the host and mails the postmaster only when the result changed since
// the run before (and pings check.pingUrl, a dead-man's switch).
import type { Role, RoleContext } from "../../lib/converge/role";
import { roleNamed } from "../../lib/converge/registry";
import { renderTemplate } from "../../lib/converge/template";
import type { RoleState } from "../../lib/converge/types";
import { postmaster, rolesByHost } from "../../lib/stack/derive";
import { shellQuote } from "../../lib/ssh/shell";
import { mailHostEdge } from "../edge/mail";

export const CHECK_PATHS = {
  script: "/usr/local/sbin/podkit-check",
  conf: "/etc/podkit/check/check.conf",
  state: "/var/lib/podkit/check",
} as const;

const UNITS = ["podkit-check.service", "podkit-check.timer"];

export const check: Role = {
  name: "check",
  // Last on its host: it watches the units every other role starts.
  after: {
    base: "it checks the units base runs",
    tls: "it checks certificate renewal",
    mail: "it mails the postmaster through Postfix and reads its queue",
    xmpp: "it checks Prosody",
    turn: "it checks coturn",
    edge: "it checks Postfix on the edge",
    web: "it checks nginx",
    backup: "it reads the backup's status files",
  },
  appliesTo: () => true,
  ports: [], // it only looks
  removal: {
    stop: ["podkit-check.timer"],
    remove: [CHECK_PATHS.script, CHECK_PATHS.conf, ...UNITS.map((u) => `/etc/systemd/system/${u}`)],
    keeps: `${CHECK_PATHS.state}: the last result, for whoever looks`,
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    // The smarthost is used by the host that sends the pod's mail out: the mail host, or its edge (role edge).
    // A mail host behind an edge sends everything to the edge, over the tunnel: that is its relay.
    const edge = mailHostEdge(stack);
    const sender = edge?.edge ?? stack.mail?.host;
    const relay = sender === ctx.host ? stack.mail!.relay : undefined;
    const edgeRelay = edge && stack.mail?.host === ctx.host ? `${edge.address} 25` : undefined;
    const view = {
      fqdn: shellQuote(fqdn),
      postmaster: shellQuote(postmaster(stack)),
      units: hostUnits(ctx).join(" "),
      backup: stack.backup?.host === ctx.host ? 1 : 0,
      dkimSelector: stack.mail?.host === ctx.host ? stack.mail.dkim.selector : "",
      relay: edgeRelay ?? (relay ? `${relay.host} ${relay.port}` : ""),
      pingUrl: shellQuote(stack.check.pingUrl ?? ""),
    };
    const t = (path: string) => renderTemplate("check", path, view, ctx.profile.release);
    return {
      role: "check",
      // curl pings check.pingUrl; openssl reads certificates and the DKIM key.
      packages: ["curl", "openssl"],
      dirs: [{ path: CHECK_PATHS.state, mode: 0o755 }],
      files: [
        { path: CHECK_PATHS.script, mode: 0o755, content: t("usr/local/sbin/podkit-check") },
        // Root's alone: check.pingUrl is in it, and whoever knows that URL can ping it.
        { path: CHECK_PATHS.conf, mode: 0o600, content: t("etc/podkit/check/check.conf") },
        ...UNITS.map((u) => ({ path: `/etc/systemd/system/${u}`, content: t(`etc/systemd/system/${u}`) })),
      ],
      // bash reads the script before it goes live (systemd-analyze verify reads the units: lib/checker).
      checks: [{ name: "bash -n", reads: [CHECK_PATHS.script], run: `bash -n {stage}${CHECK_PATHS.script}` }],
      handlers: [
        { name: "systemctl daemon-reload", when: UNITS.map((u) => `/etc/systemd/system/${u}`), run: "systemctl daemon-reload" },
        // A first result right away, told to no one: the next run has something to differ from, and
        // `podkit check` sees the check has run. (A new or rebuilt host has no backup yet: not news.)
        { name: "first daily check", when: [], unless: `test -s ${CHECK_PATHS.state}/last-run.json`, run: `${CHECK_PATHS.script} baseline >/dev/null`, phase: "after-reload" },
      ],
      services: [{ unit: "podkit-check.timer", watch: ["/etc/systemd/system/podkit-check.timer"], onChange: "restart" }],
    };
  },
};

/**
 * Every unit the host's other roles run (and want running), from their own
 * declarations: the check can never miss a daemon a role adds. Rendering the
 * other roles again costs what an apply's rendering does (password hashes are
 * cached between runs).
 */
export function hostUnits(ctx: RoleContext): string[] {
  const others = rolesByHost(ctx.stack)[ctx.host].filter((r) => r !== "check");
  const units = others.flatMap((r) => (roleNamed(r).state(ctx).services ?? []).filter((s) => s.enabled !== false).map((s) => s.unit));
  return [...new Set(units), ...UNITS.filter((u) => u.endsWith(".timer"))];
}
