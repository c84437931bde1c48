// What a role is: everything podkit knows about one service of a pod, declared
// in its folder (roles/<name>/role.ts) and registered with one line in
// roles/index.ts. The engine, the firewalls, DNS and the Pulumi program read
// these declarations; none of them names a role. README, "Adding a role".
import type { HostProfile } from "../stack/profile";
import type { DnsFacts } from "../dns/plan";
import type { UnplacedRecord } from "../dns/records";
import type { Stack } from "../stack/schema";
import type { RoleState } from "./types";

/** A role's name: its folder's name. */
export type RoleName = string;

export interface RoleContext {
  stack: Stack;
  /** Host name in the stack, and its full name. */
  host: string;
  fqdn: string;
  /** A secret's value by name; throws when it has none (checked before any host is touched). */
  secret(name: string): string;
  /** Facts about the machine (container or not, IPv6, resolver): a role's host differences come from these alone. */
  profile: HostProfile;
  /**
   * The public key podkit itself logs in to the host with ("ssh-ed25519 AAAA..."),
   * when podkit knows it: a Hetzner server's deploy key, the key file `podkit
   * apply` uses, podkit:sshPrivateKey. The base role lets it in beside the admins' keys.
   */
  loginKey?: string;
}

/** One port, or a range of them (the ports coturn relays media on). */
export type PortOrRange = { port: number; range?: never } | { range: [number, number]; port?: never };

/** A port the role's daemons accept connections on from outside the host. */
export type RolePort = {
  protocol: "tcp" | "udp";
  /** Short name of what listens: "smtp", "imaps", "turn", ... */
  service: string;
  /** Why it is open: the comment of the nftables rule and the Hetzner firewall rule, and `podkit plan`. */
  why: string;
  /** Only from the admins' networks (admin.sshFrom) when the stack names any. */
  adminsOnly?: boolean;
} & PortOrRange;

/** A name the host serves: it gets an address record and is on the host's certificate. */
export interface ServiceName {
  name: string;
  /** Why the name exists, for the address records' comments. */
  why: string;
}

/**
 * What taking the role off a host does: the units stopped and disabled, and
 * the files and directories podkit wrote for it that go with it. `podkit
 * apply` does not act on this yet (a role taken off a host today just stops
 * being converged); it is declared so the engine can, and so a reader knows.
 */
export interface RoleRemoval {
  stop: string[];
  remove: string[];
  /** What stays on purpose (mailboxes, chat archives), and why. */
  keeps?: string;
}

export interface Role {
  name: RoleName;
  /**
   * Roles that must be applied before this one when both run on a host, each
   * with the reason. Apply order is derived from these (lib/converge/registry.ts).
   */
  after: Record<RoleName, string>;
  /** Whether the role runs on `host`. */
  appliesTo(stack: Stack, host: string): boolean;
  /**
   * Ports it opens; everything else stays closed on its hosts. A function of
   * the stack and host where the port comes from the stack (the tunnel's
   * `edge.port`) or differs between its hosts; read it with rolePorts.
   */
  ports: RolePort[] | ((stack: Stack, host: string) => RolePort[]);
  /** Names its host serves for it (its certificate covers them; each gets an address record). */
  names?(stack: Stack, host: string): ServiceName[];
  /** DNS records it needs besides the names' addresses; called once per host it runs on. */
  records?(stack: Stack, host: string, facts: DnsFacts): UnplacedRecord[];
  /** The desired state of one host, from the stack. */
  state(ctx: RoleContext): RoleState;
  removal: RoleRemoval;
}

/** The ports `role` opens on `host`: its list, or what its function gives for that host. */
export function rolePorts(role: Role, stack: Stack, host: string): RolePort[] {
  return typeof role.ports === "function" ? role.ports(stack, host) : role.ports;
}
