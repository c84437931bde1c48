// Converging one host: facts in one round-trip, missing packages in one apt
// run, then role by role: stage, check, commit, handlers, reload, health.
// A checker that refuses, or a daemon that does not come back healthy, stops
// the run with the old config live (rolled back if it had been moved in).
import { createTwoFilesPatch } from "diff";
import { changeCount, ENABLED_STATES, queryFor, roleChanges, under, type RoleChanges } from "./changes";
import { factsScript, parseFacts } from "./facts";
import { commitScript, handlersScript, installScript, parseReadFiles, readFilesScript, rollbackScript, serviceScript, usersScript } from "./scripts";
import type { Session } from "./ssh";
import type { Facts, RoleState } from "./types";

export interface RoleReport {
  role: string;
  /** What changed (or would change, in diff mode): "+pkg postfix", "/etc/postfix/main.cf", "reload postfix". */
  changes: string[];
  ms: number;
  /** Unified diffs of changed files (diff mode); secret files show only that they change. */
  diffs?: string[];
}

export interface HostReport {
  host: string;
  roles: RoleReport[];
  ms: number;
}

/** A role that could not be applied; the pod keeps running on what it had. */
export class ConvergeError extends Error {
  constructor(readonly host: string, readonly role: string, message: string) {
    super(`${host}/${role}: ${message}`);
  }
}

export interface ConvergeOptions {
  /** Compute and show changes without writing anything. */
  dryRun?: boolean;
  /** One line per role as it finishes. */
  progress?: (line: string) => void;
}

export async function convergeHost(session: Session, roles: RoleState[], opts: ConvergeOptions = {}): Promise<HostReport> {
  const host = session.target.name;
  const started = Date.now();
  const query = queryFor(roles);
  const gather = async () => parseFacts(await session.must(factsScript(query), "gathering facts"), query);
  let facts = await gather();

  const reports: RoleReport[] = [];
  const installed = new Set<string>();
  const missing = query.packages.filter((p) => !facts.packages[p]);
  if (missing.length && !opts.dryRun) {
    const t = Date.now();
    const debconf = roles.flatMap((r) => r.debconf ?? []);
    await session.must(installScript(missing, debconf), `installing ${missing.join(" ")}`);
    missing.forEach((p) => installed.add(p));
    opts.progress?.(`${host}: installed ${missing.length} package(s) in ${((Date.now() - t) / 1000).toFixed(1)}s`);
    // Packages bring default configs and units: look again before comparing files.
    facts = await gather();
  }
  const users = roles.flatMap((r) => r.users ?? []).filter((u) => !facts.users.includes(u.name));
  if (users.length && !opts.dryRun) {
    await session.must(usersScript(users), `creating users ${users.map((u) => u.name).join(" ")}`);
    facts.users.push(...users.map((u) => u.name));
    opts.progress?.(`${host}: created system user(s) ${users.map((u) => u.name).join(" ")}`);
  }

  for (const role of roles) {
    const t = Date.now();
    const changes = roleChanges(role, facts);
    const report: RoleReport = {
      role: role.role,
      changes: [
        ...role.packages.filter((p) => installed.has(p) || changes.packages.includes(p)).map((p) => `+pkg ${p}`),
        ...changes.dirs.map((d) => `${d}/`),
        ...changes.files.map((c) => `${c.file.path}${c.reason === "content" || c.reason === "new" ? "" : ` (${c.reason})`}`),
        ...changes.absent.map((p) => `-${p}`),
      ],
      ms: 0,
    };
    if (opts.dryRun) {
      report.changes.push(...changes.handlers, ...changes.units.map((u) => `${u.start ? "start" : "enable"} ${u.unit}`));
      report.diffs = await diffs(session, changes);
    } else if (changeCount(changes)) {
      report.changes.push(...(await commitRole(session, role, changes, facts)));
    }
    report.ms = Date.now() - t;
    reports.push(report);
    opts.progress?.(`${host} ${role.role}: ${report.changes.length ? `${opts.dryRun ? "would change" : "changed"} ${report.changes.length}: ${report.changes.join(", ")}` : "unchanged"} (${(report.ms / 1000).toFixed(1)}s)`);
  }
  return { host, roles: reports, ms: Date.now() - started };
}

async function commitRole(session: Session, role: RoleState, changes: RoleChanges, facts: Facts): Promise<string[]> {
  const host = session.target.name;
  const done: string[] = [];
  const changedPaths = [...changes.files.map((c) => c.file.path), ...changes.absent];
  const dirs = (role.dirs ?? []).filter((d) => changes.dirs.includes(d.path));

  if (changedPaths.length || dirs.length) {
    const r = await session.run(commitScript(role.role, changes.files, dirs, role.checks ?? [], changes.absent));
    if (r.code === 3) {
      const [head, ...rest] = r.stdout.split("\n");
      throw new ConvergeError(host, role.role,
        `${head.replace(/^CHECK /, "")} refused the new configuration (${changedPaths.join(", ")}); nothing was changed:\n${rest.join("\n").trim()}`);
    }
    if (r.code !== 0) throw new ConvergeError(host, role.role, `writing files failed: ${(r.stderr || r.stdout).trim()}`);
  }

  const handlers = (role.handlers ?? []).filter((h) => changes.handlers.includes(h.name) || changedPaths.some((p) => under(p, h.when)));
  const before = handlers.filter((h) => h.phase !== "after-reload");
  const after = handlers.filter((h) => h.phase === "after-reload");
  const services = role.services ?? [];
  const actions = services.flatMap((s) => {
    const touched = changedPaths.some((p) => under(p, s.watch));
    const now = facts.units[s.unit];
    const wanted = s.enabled !== false;
    const out: { unit: string; verb: string }[] = [];
    if (wanted && !ENABLED_STATES.has(now?.enabled ?? "")) out.push({ unit: s.unit, verb: "enable" });
    if (wanted && now?.active !== "active") out.push({ unit: s.unit, verb: "restart" });
    else if (touched) out.push({ unit: s.unit, verb: s.onChange === "restart" ? "restart" : "reload-or-restart" });
    return out;
  });
  const health = services.filter((s) => s.enabled !== false && actions.some((a) => a.unit === s.unit && a.verb !== "enable"))
    .map((s) => ({ unit: s.unit, ports: s.ports ?? [] }));

  try {
    if (before.length) await session.must(handlersScript(before), before.map((h) => h.name).join(", "));
    if (actions.length) {
      const r = await session.run(serviceScript(actions, health));
      if (r.code !== 0) throw new Error(r.stdout.trim() || r.stderr.trim());
    }
    if (after.length) await session.must(handlersScript(after), after.map((h) => h.name).join(", "));
  } catch (err) {
    // The new files made a daemon fail: put the old ones back and bring it up on them.
    await session.run(rollbackScript(role.role));
    if (before.length) await session.run(handlersScript(before));
    await session.run(serviceScript(actions.filter((a) => a.verb !== "enable").map((a) => ({ ...a, verb: "restart" })), []));
    throw new ConvergeError(host, role.role, `rolled back ${changedPaths.join(", ")}: ${(err as Error).message}`);
  }
  done.push(...handlers.map((h) => h.name), ...actions.map((a) => `${a.verb} ${a.unit}`));
  return done;
}

async function diffs(session: Session, changes: RoleChanges): Promise<string[]> {
  const shown = changes.files.filter((c) => !c.file.secret && (c.reason === "content" || c.reason === "new"));
  const current = shown.length ? parseReadFiles(await session.must(readFilesScript(shown.map((c) => c.file.path)), "reading files for diff")) : {};
  return changes.files.map((c) => {
    if (c.file.secret) return `--- ${c.file.path}\n+++ ${c.file.path}\n(secret file: content not shown)\n`;
    if (c.reason === "mode" || c.reason === "owner") return `--- ${c.file.path}\n+++ ${c.file.path}\n(${c.reason} changes)\n`;
    return createTwoFilesPatch(c.reason === "new" ? "/dev/null" : c.file.path, c.file.path, current[c.file.path] ?? "", c.file.content, "", "", { context: 3 });
  });
}
