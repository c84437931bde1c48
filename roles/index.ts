// Every role podkit knows, by name. A new role is a folder in roles/ and a line here.
import type { Role } from "../lib/converge/role";
import type { RoleName } from "../lib/stack/derive";
import { backup } from "./backup/role";
import { base } from "./base/role";
import { mail } from "./mail/role";
import { tls } from "./tls/role";
import { web } from "./web/role";
import { xmpp } from "./xmpp/role";

export const ROLES: Partial<Record<RoleName, Role>> = { base, tls, web, mail, xmpp, backup };
