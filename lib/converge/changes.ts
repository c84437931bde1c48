// Desired state against facts: what must change, and nothing else. Pure, so
// "a second apply changes nothing" is a property of this function.
import { createHash } from "node:crypto";
import type { FactQuery } from "./facts";
import type { Facts, FileSpec, RoleState, ServiceSpec } from "./types";

export interface FileChange {
  file: FileSpec;
  reason: "new" | "content" | "mode" | "owner";
}

export interface RoleChanges {
  role: string;
  packages: string[];
  dirs: string[];
  files: FileChange[];
  /** Files to remove. */
  absent: string[];
  /** Handlers due although no file changed (their `unless` guard failed). */
  handlers: string[];
  /** Units to enable or start (not reloads: those follow file changes). */
  units: { unit: string; enable: boolean; start: boolean }[];
  /** Retired units still running or enabled, retired packages still installed. */
  retire: { units: string[]; packages: string[] };
  /** Paths an interrupted apply moved in without finishing their handlers and reloads (Facts.pending). */
  pending?: string[];
}

/** `systemctl is-enabled` answers that mean the unit starts at boot without an enable of ours. */
const ENABLED_STATES = new Set(["enabled", "static", "alias", "indirect", "generated", "enabled-runtime"]);

export const sha256 = (s: string): string => createHash("sha256").update(s).digest("hex");

// The defaults of a role's declarations, in one place: everything that writes,
// compares or describes a file, dir or service reads them from here.
export const modeOf = (f: { mode?: number }) => f.mode ?? 0o644;
export const dirModeOf = (d: { mode?: number }) => d.mode ?? 0o755;
export const ownerOf = (f: { owner?: string }) => f.owner ?? "root";
export const groupOf = (f: { group?: string; owner?: string }) => f.group ?? f.owner ?? "root";
/** A service is enabled at boot and running unless it says `enabled: false`. */
export const wantsRunning = (s: ServiceSpec) => s.enabled !== false;
/** How a running service picks up a changed file. */
export const changeVerb = (s: ServiceSpec): "restart" | "reload-or-restart" => (s.onChange === "restart" ? "restart" : "reload-or-restart");

export function queryFor(roles: RoleState[]): FactQuery {
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    files: uniq(roles.flatMap((r) => [...r.files.map((f) => f.path), ...(r.absent ?? [])])),
    dirs: uniq(roles.flatMap((r) => (r.dirs ?? []).map((d) => d.path))),
    // Retired ones too: whether they are there is what decides if there is anything to retire.
    packages: uniq(roles.flatMap((r) => [...r.packages, ...(r.retired?.packages ?? [])])),
    units: uniq(roles.flatMap((r) => [...(r.services ?? []).map((s) => s.unit), ...(r.retired?.units ?? [])])),
    users: uniq(roles.flatMap((r) => (r.users ?? []).map((u) => u.name))),
    groups: uniq(roles.flatMap((r) => (r.groups ?? []).map((g) => g.name))),
    guards: Object.fromEntries(roles.flatMap((r) => (r.handlers ?? []).filter((h) => h.unless).map((h) => [guardName(r.role, h.name), h.unless!]))),
  };
}

export function roleChanges(role: RoleState, facts: Facts): RoleChanges {
  const files: FileChange[] = [];
  for (const file of role.files) {
    const now = facts.files[file.path];
    if (!now) files.push({ file, reason: "new" });
    else if (now.sha256 !== sha256(file.content)) files.push({ file, reason: "content" });
    else if (now.mode !== modeOf(file)) files.push({ file, reason: "mode" });
    else if (now.owner !== ownerOf(file) || now.group !== groupOf(file)) files.push({ file, reason: "owner" });
  }
  const dirs = (role.dirs ?? [])
    .filter((d) => {
      const now = facts.dirs[d.path];
      return !now || now.mode !== dirModeOf(d) || now.owner !== ownerOf(d) || now.group !== groupOf(d);
    })
    .map((d) => d.path);
  const units = (role.services ?? [])
    .map((s: ServiceSpec) => {
      const now = facts.units[s.unit] ?? { active: "", enabled: "" };
      const want = wantsRunning(s);
      return { unit: s.unit, enable: want && !ENABLED_STATES.has(now.enabled), start: want && now.active !== "active" };
    })
    .filter((u) => u.enable || u.start);
  const packages = role.packages.filter((p) => !facts.packages[p]);
  return {
    role: role.role,
    packages,
    dirs,
    files,
    absent: (role.absent ?? []).filter((p) => facts.files[p]),
    handlers: (role.handlers ?? []).filter((h) => facts.dueHandlers.includes(guardName(role.role, h.name))).map((h) => h.name),
    units,
    retire: {
      units: (role.retired?.units ?? []).filter((u) => {
        const now = facts.units[u];
        // No such unit yet (systemd knows no unit file state). A role that retires
        // units but no packages stops a unit its own packages bring; if this run
        // installs them, Debian's scripts start it: retired in the same run, so one
        // apply converges.
        if (!now || now.enabled === "") return packages.length > 0 && !role.retired?.packages?.length;
        return now.active === "active" || now.active === "activating" || ENABLED_STATES.has(now.enabled);
      }),
      packages: (role.retired?.packages ?? []).filter((p) => facts.packages[p]),
    },
    ...(facts.pending?.[role.role]?.length ? { pending: facts.pending[role.role] } : {}),
  };
}

/** The packages the roles want installed (not the ones they retire). */
export function wantedPackages(roles: RoleState[]): string[] {
  return [...new Set(roles.flatMap((r) => r.packages))];
}

export const guardName = (role: string, handler: string) => `${role}/${handler}`.replace(/\s+/g, "_");

/** Does `path` lie under one of `prefixes` (a prefix ending in / is a directory, otherwise an exact file or dir)? */
export function under(path: string, prefixes: string[]): boolean {
  return prefixes.some((p) => path === p || path.startsWith(p.endsWith("/") ? p : `${p}/`));
}
