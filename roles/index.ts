// Every role podkit knows: one line per role folder, and nothing else. Adding
// a role is adding its line (README, "Adding a role"). The order here does not
// matter: roles apply in the order their `after` declarations give
// (lib/converge/registry.ts reads this list).
export { backup } from "./backup/role";
export { edge } from "./edge/role";
export { base } from "./base/role";
export { mail } from "./mail/role";
export { tls } from "./tls/role";
export { turn } from "./turn/role";
export { web } from "./web/role";
export { xmpp } from "./xmpp/role";
export { check } from "./check/role";
export { tunnel } from "./tunnel/role";
