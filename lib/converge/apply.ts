// Converging one host: facts in one round-trip, missing packages in one apt
// run, then role by role: stage, check, commit, handlers, reload, health.
// A checker that refuses, or a daemon that does not come back healthy, stops
// the run with the old config live (rolled back if it had been moved in).
import { createTwoFilesPatch } from "diff";
import { describeActions, hasWork, roleActions, type RoleActions } from "./actions";
import { aptProgress, type PackageProgress } from "./apt-progress";
import { queryFor, wantedPackages } from "./changes";
import { factsScript, parseFacts, type FactQuery } from "./facts";
import { describeSpaceShort, parseSpaceShort, SPACE_EXIT } from "./disk-space";
import { thisRun, withHostLock } from "./host-lock";
import { watchPackageWait } from "./package-lock";
import type { HostFacts } from "./host-facts";
import { commitScript, discardRollbackScript, groupsScript, handlersScript, installScript, parseReadFiles, readFilesScript, retireScript, rollbackScript, serviceScript, usersScript } from "./scripts";
import type { Session } from "./ssh";
import type { RoleState } from "./types";

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
  /** Lines as converge goes (packages installed, users created); one per role as it finishes unless `onRole` is given. */
  progress?: (line: string) => void;
  /** Each role's report as it finishes (instead of its progress line). */
  onRole?: (report: RoleReport) => void;
  /** apt's progress while packages download and install. */
  onPackages?: (p: PackageProgress) => void;
  /**
   * Ask the host what it is in each facts round-trip, and hand it here: the
   * answer is the roles rendered for that host (which replace the ones given),
   * or an error when the host is not what they may be rendered for.
   */
  onHost?: (host: HostFacts | undefined) => RoleState[];
  /**
   * Hold the host's lock for the run (./host-lock.ts): `what` names this run
   * to another that waits ("apply", "pulumi mail"), which waits up to `waitS`.
   * Not taken in dry-run mode, which only reads.
   */
  lock?: { what: string; waitS?: number; say?: (line: string) => void };
}

/** Does a facts query ask at least everything `needed` asks? */
export function covers(asked: FactQuery, needed: FactQuery): boolean {
  const all = (have: string[] | undefined, want: string[] | undefined) => (want ?? []).every((x) => (have ?? []).includes(x));
  return all(asked.files, needed.files) && all(asked.dirs, needed.dirs) && all(asked.packages, needed.packages)
    && all(asked.units, needed.units) && all(asked.users, needed.users) && all(asked.groups, needed.groups)
    && Object.entries(needed.guards ?? {}).every(([name, t]) => asked.guards?.[name] === t);
}

export async function convergeHost(session: Session, rendered: RoleState[], opts: ConvergeOptions = {}): Promise<HostReport> {
  if (!opts.lock || opts.dryRun) return converge(session, rendered, opts);
  const { what, waitS, say } = opts.lock;
  return withHostLock(session, { holder: thisRun(what), waitS, say }, () => converge(session, rendered, opts));
}

async function converge(session: Session, rendered: RoleState[], opts: ConvergeOptions): Promise<HostReport> {
  const host = session.target.name;
  const started = Date.now();
  let roles = rendered;
  let query = queryFor(roles);
  const look = async (q: FactQuery) => parseFacts(await session.must(factsScript(q, { host: !!opts.onHost }), "gathering facts"), q);
  // With onHost, what the host is comes back with the facts and the roles are
  // rendered for it. Their facts are usually among those already gathered (a
  // container only drops time sync); only when not does converge look again.
  const gather = async () => {
    let facts = await look(query);
    if (!opts.onHost) return facts;
    try {
      roles = opts.onHost(facts.host);
    } catch (err) {
      throw new ConvergeError(host, roles.map((r) => r.role).join(","), (err as Error).message);
    }
    const needed = queryFor(roles);
    if (!covers(query, needed)) facts = await look(needed);
    query = needed;
    return facts;
  };
  let facts = await gather();

  const reports: RoleReport[] = [];
  const installed = new Set<string>();
  const missing = wantedPackages(roles).filter((p) => !facts.packages[p]);
  if (missing.length && !opts.dryRun) {
    const t = Date.now();
    const debconf = roles.flatMap((r) => r.debconf ?? []);
    // apt's progress for the live line; a wait for another package operation, or a repair, as lines of their own.
    const watch = { stdout: watchPackageWait((line) => opts.progress?.(`${host}: ${line}`), opts.onPackages && aptProgress(opts.onPackages)) };
    await session.must(installScript(missing, debconf), `installing ${missing.join(" ")}`, watch);
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
  const groups = [...new Map(roles.flatMap((r) => r.groups ?? []).map((g) => [g.name, g])).values()]
    .filter((g) => !(facts.groups ?? []).includes(g.name));
  if (groups.length && !opts.dryRun) {
    await session.must(groupsScript(groups), `creating groups ${groups.map((g) => g.name).join(" ")}`);
    (facts.groups ??= []).push(...groups.map((g) => g.name));
    opts.progress?.(`${host}: created system group(s) ${groups.map((g) => g.name).join(" ")}`);
  }

  for (const role of roles) {
    const t = Date.now();
    const actions = roleActions(role, facts);
    const report: RoleReport = {
      role: role.role,
      changes: [
        ...role.packages.filter((p) => installed.has(p) || actions.packages.includes(p)).map((p) => `+pkg ${p}`),
        ...describeActions(actions),
      ],
      ms: 0,
    };
    if (opts.dryRun) report.diffs = await diffs(session, actions);
    else if (hasWork(actions)) await commitRole(session, role, actions, (line) => opts.progress?.(`${host}: ${line}`));
    report.ms = Date.now() - t;
    reports.push(report);
    if (opts.onRole) opts.onRole(report);
    else opts.progress?.(`${host} ${role.role}: ${report.changes.length ? `${opts.dryRun ? "would change" : "changed"} ${report.changes.length}: ${report.changes.join(", ")}` : "unchanged"} (${(report.ms / 1000).toFixed(1)}s)`);
  }
  return { host, roles: reports, ms: Date.now() - started };
}

/** Executes a role's actions: stage, check and move the files, then handlers, services, health; rolls back on failure. */
async function commitRole(session: Session, role: RoleState, actions: RoleActions, say: (line: string) => void): Promise<void> {
  const host = session.target.name;
  const changedPaths = [...actions.files.map((c) => c.file.path), ...actions.absent];

  if (changedPaths.length || actions.dirs.length) {
    const r = await session.run(commitScript(role.role, actions.files, actions.dirs, role.checks ?? [], actions.absent));
    if (r.code === 3) {
      const [head, ...rest] = r.stdout.split("\n");
      throw new ConvergeError(host, role.role,
        `${head.replace(/^CHECK /, "")} refused the new configuration (${changedPaths.join(", ")}); nothing was changed:\n${rest.join("\n").trim()}`);
    }
    if (r.code === SPACE_EXIT) throw new ConvergeError(host, role.role, describeSpaceShort(parseSpaceShort(r.stdout)));
    if (r.code !== 0) throw new ConvergeError(host, role.role, `writing files failed: ${(r.stderr || r.stdout).trim()}`);
  }

  const before = actions.handlers.filter((h) => h.phase !== "after-reload");
  const after = actions.handlers.filter((h) => h.phase === "after-reload");
  const services = actions.services;
  try {
    if (before.length) await session.must(handlersScript(before), before.map((h) => h.name).join(", "));
    if (services.length) {
      const r = await session.run(serviceScript(services, actions.health));
      if (r.code !== 0) throw new Error(r.stdout.trim() || r.stderr.trim());
    }
    if (after.length) await session.must(handlersScript(after), after.map((h) => h.name).join(", "));
  } catch (err) {
    // The new files made a daemon fail: put the old ones back and bring it up on them.
    await session.run(rollbackScript(role.role));
    await session.run(discardRollbackScript(role.role));
    if (before.length) await session.run(handlersScript(before));
    await session.run(serviceScript(services.filter((a) => a.verb !== "enable").map((a) => ({ ...a, verb: "restart" })), []));
    // (A role finishing what an interrupted apply moved in names those files.)
    throw new ConvergeError(host, role.role, `rolled back ${(changedPaths.length ? changedPaths : actions.pending).join(", ")}: ${(err as Error).message}`);
  }
  // Live and healthy: the copies of what was replaced (an old password hash, an old key) go, and the note of what was pending.
  if (changedPaths.length || actions.pending.length) await session.must(discardRollbackScript(role.role), "removing the rollback copies");
  // Only now what the role no longer wants: until its replacement answered, the old daemon kept serving.
  const { units, packages } = actions.retire;
  if (units.length || packages.length) {
    await session.must(retireScript(units, packages), `retiring ${[...units, ...packages].join(" ")}`, { stdout: watchPackageWait(say) });
  }
}

async function diffs(session: Session, changes: RoleActions): Promise<string[]> {
  const shown = changes.files.filter((c) => !c.file.secret && (c.reason === "content" || c.reason === "new"));
  const current = shown.length ? parseReadFiles(await session.must(readFilesScript(shown.map((c) => c.file.path)), "reading files for diff")) : {};
  return changes.files.map((c) => {
    if (c.file.secret) return `--- ${c.file.path}\n+++ ${c.file.path}\n(secret file: content not shown)\n`;
    if (c.reason === "mode" || c.reason === "owner") return `--- ${c.file.path}\n+++ ${c.file.path}\n(${c.reason} changes)\n`;
    return createTwoFilesPatch(c.reason === "new" ? "/dev/null" : c.file.path, c.file.path, current[c.file.path] ?? "", c.file.content, "", "", { context: 3 });
  });
}
