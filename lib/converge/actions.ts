// What converging a role does, decided once: from the differences (changes.ts)
// to the full list of actions — dirs, files, removals, handlers, service verbs
// and the health checks after them. `podkit apply` executes this list,
// `podkit diff` and the Pulumi provider's converge report it; nothing else
// decides which unit reloads or which handler runs.
import { changeVerb, roleChanges, under, wantsRunning, type FileChange, type RoleChanges } from "./changes";
import type { DirSpec, Facts, HandlerSpec, ProbeSpec, RoleState } from "./types";

export interface ServiceAction {
  unit: string;
  verb: "enable" | "restart" | "reload-or-restart";
}

export interface RoleActions {
  role: string;
  /** Packages not installed when the facts were gathered. */
  packages: string[];
  /** Dirs to create or fix (mode, owner). */
  dirs: DirSpec[];
  files: FileChange[];
  /** Files to remove. */
  absent: string[];
  /** Handlers to run, in the role's order: guards that failed, and those watching a changed path. */
  handlers: HandlerSpec[];
  services: ServiceAction[];
  /**
   * After the service actions: each unit that was (re)started or reloaded must be active with its ports
   * answering, then pass its client probes. A unit left alone is not probed: a no-op apply costs nothing here.
   */
  health: Health[];
  /** Last, once the role's own services are healthy: retired units to stop and disable, retired packages to remove. */
  retire: { units: string[]; packages: string[] };
  /** Paths an interrupted apply moved in: their handlers and reloads are due again (RoleChanges.pending). */
  pending: string[];
}

export interface Health {
  unit: string;
  ports: number[];
  probes?: ProbeSpec[];
}

export function roleActions(role: RoleState, facts: Facts): RoleActions {
  return actionsFor(role, roleChanges(role, facts));
}

export function actionsFor(role: RoleState, changes: RoleChanges): RoleActions {
  // What an interrupted apply moved in counts as changed: its handlers and reloads never ran.
  const pending = changes.pending ?? [];
  const changed = [...new Set([...changes.files.map((c) => c.file.path), ...changes.absent, ...pending])];
  const services = (role.services ?? []).flatMap((s): ServiceAction[] => {
    const state = changes.units.find((u) => u.unit === s.unit);
    const out: ServiceAction[] = [];
    if (state?.enable) out.push({ unit: s.unit, verb: "enable" });
    // A unit that is not running is restarted whatever changed; one that runs picks up its files its own way.
    if (state?.start) out.push({ unit: s.unit, verb: "restart" });
    else if (changed.some((p) => under(p, s.watch))) out.push({ unit: s.unit, verb: changeVerb(s) });
    return out;
  });
  return {
    role: role.role,
    packages: changes.packages,
    dirs: (role.dirs ?? []).filter((d) => changes.dirs.includes(d.path)),
    files: changes.files,
    absent: changes.absent,
    handlers: (role.handlers ?? []).filter((h) => changes.handlers.includes(h.name) || changed.some((p) => under(p, h.when))),
    services,
    health: (role.services ?? [])
      .filter((s) => wantsRunning(s) && services.some((a) => a.unit === s.unit && a.verb !== "enable"))
      .map((s): Health => ({ unit: s.unit, ports: s.ports ?? [], ...(s.probes?.length ? { probes: s.probes } : {}) })),
    retire: changes.retire,
    pending,
  };
}

/** Anything to do on the host beyond installing packages. */
export function hasWork(a: RoleActions): boolean {
  return a.dirs.length + a.files.length + a.absent.length + a.handlers.length + a.services.length + a.retire.units.length + a.retire.packages.length + a.pending.length > 0;
}

/** The actions as report lines: "/etc/x/", "/etc/x.conf", "/etc/y (mode)", "-/etc/z", handler names, "reload-or-restart x.service", "stop and disable old.service", "-pkg old". */
export function describeActions(a: RoleActions): string[] {
  return [
    ...a.dirs.map((d) => `${d.path}/`),
    ...a.files.map((c) => `${c.file.path}${c.reason === "content" || c.reason === "new" ? "" : ` (${c.reason})`}`),
    ...a.absent.map((p) => `-${p}`),
    ...a.handlers.map((h) => h.name),
    ...a.services.map((s) => `${s.verb} ${s.unit}`),
    ...a.retire.units.map((u) => `stop and disable ${u}`),
    ...a.retire.packages.map((p) => `-pkg ${p}`),
    ...(a.pending.length ? [`finish what an interrupted apply moved in (${a.pending.join(", ")})`] : []),
  ];
}
