// What a role is: a name, and a pure function from the stack (for one host)
// to the desired state of that host. Roles live in roles/<name>/role.ts.
import type { RoleName } from "../stack/derive";
import type { HostProfile } from "../stack/profile";
import type { Stack } from "../stack/schema";
import type { RoleState } from "./types";

export interface RoleContext {
  stack: Stack;
  /** Host name in the stack, and its full name. */
  host: string;
  fqdn: string;
  /** A secret's value by name; throws when it has none (checked before any host is touched). */
  secret(name: string): string;
  /** Facts about the machine (container or not, IPv6, resolver): a role's host differences come from these alone. */
  profile: HostProfile;
}

export interface Role {
  name: RoleName;
  state(ctx: RoleContext): RoleState;
}
