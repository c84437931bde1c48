// The registered roles (roles/index.ts) in the order they apply on a host,
// derived from what each declares it comes after.
import type { Role, RoleName } from "./role";

let ordered: readonly Role[] | undefined;

/**
 * Every role, in apply order. Loaded on first use rather than imported: roles
 * import lib/stack and lib/dns, which read this list, so loading it while they
 * load would be an import cycle.
 */
export function registeredRoles(): readonly Role[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ordered ??= inApplyOrder(Object.values(require("../../roles") as typeof import("../../roles")));
  return ordered;
}

export function roleNamed(name: RoleName): Role {
  const role = registeredRoles().find((r) => r.name === name);
  if (!role) throw new Error(`no role "${name}" is registered in roles/index.ts`);
  return role;
}

/**
 * Roles sorted so each comes after every role it names in `after`; roles
 * with no order between them come by name, so the order never depends on how
 * the registry happens to list them.
 */
export function inApplyOrder(roles: readonly Role[]): Role[] {
  const byName = new Map(roles.map((r) => [r.name, r]));
  for (const r of roles) {
    for (const dep of Object.keys(r.after)) {
      if (!byName.has(dep)) throw new Error(`role ${r.name} comes after "${dep}", which is not a registered role`);
    }
  }
  const done: Role[] = [];
  const left = [...roles].sort((a, b) => a.name.localeCompare(b.name));
  while (left.length) {
    const i = left.findIndex((r) => Object.keys(r.after).every((dep) => done.some((d) => d.name === dep)));
    if (i < 0) throw new Error(`roles ${left.map((r) => r.name).join(", ")} each wait for another: their "after" declarations form a cycle`);
    done.push(...left.splice(i, 1));
  }
  return done;
}
