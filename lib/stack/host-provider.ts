// A kind of host (a Hetzner server, a machine that already exists, a lab host)
// as podkit sees it: where the host is, how to reach it over SSH, what the host
// is (its profile), and what the kind must set up around an apply. The core
// only knows this interface; each kind is an adapter next to what it talks to
// (lib/infra for Hetzner and existing hosts, lib/lab for the lab), and the CLI
// hands the adapters in.
import type { HostAddresses } from "../dns/plan";
import type { Pod } from "./pod";
import type { DetectableFacts, HostProfile } from "./profile";
import type { Stack } from "./schema";

/** The keys of a host in the stack file: hosts.<name>.<kind>. */
export type HostKind = "hcloud" | "existing" | "lab";

/** Where a host is: its public addresses, none yet (with why), or a problem with the host itself. */
export type HostLocation =
  | { addresses: HostAddresses }
  | { later: string }
  | { problem: string };

/** How podkit logs in to a host: the pinned host key ("ssh-ed25519 AAAA..." or "SHA256:...") is the only one accepted. */
export interface SshTarget {
  address: string;
  port: number;
  user: string;
  hostKey: string;
  /** Private key file; without one the SSH agent is used. */
  privateKeyPath?: string;
}

export interface ApplyHookContext {
  /** The roles this apply is limited to (--role), or undefined for all. */
  roles?: string[];
  log: (line: string) => void;
}

export interface HostProvider {
  kind: HostKind;
  /** Where host `host` of the stack is, asked once when the pod is loaded. */
  locate(stack: Stack, host: string): HostLocation;
  /** How `podkit apply` reaches the host, or why it does not (a message for the stack's line). */
  target(stack: Stack, host: string, opts: { identity?: string }): SshTarget | string;
  /**
   * What the host is without looking at it: what the kind knows, with the facts
   * the stack declares. `podkit apply` refines it with what the host says it is
   * (lib/converge/host-facts.ts); `pulumi up` renders with it as it is.
   */
  profile(stack: Stack, host: string): HostProfile;
  /** Facts the stack declares for the host, which win over detection, and the stack field they are declared at. */
  declaredFacts?(stack: Stack, host: string): { facts: Partial<DetectableFacts>; field: string };
  /** Why a pod of this kind has no values for its secrets and what to do, when the kind knows (the lab does). */
  secretsAdvice?(stackFile: string, secretsFile: string): string | undefined;
  /** Done before any host of the pod converges (the pod's DNS, say); a failure stops the apply. */
  beforeApply?(pod: Pod, ctx: ApplyHookContext): Promise<void>;
  /** Runs while the hosts converge (a service the pod uses later); a failure is reported with theirs. */
  alongsideApply?(pod: Pod, ctx: ApplyHookContext): Promise<void>;
  /** Where `podkit check` asks DNS and what it trusts, when the kind's hosts live in a world of their own (the lab). */
  checkEnvironment?(stack: Stack): CheckEnvironment;
}

/**
 * What `podkit check` needs to know of a world that is not the Internet (the
 * lab): without it, the machine's resolver, the zones' NS records and the
 * system's CAs are used, as for any real pod.
 */
export interface CheckEnvironment {
  /** Recursive resolvers ("10.77.0.1", "10.77.0.1:53") for NS, reverse names and blocklists. */
  resolvers?: string[];
  /** Authoritative servers ("10.77.0.1:5353") to ask for the pod's zones instead of the zones' NS addresses (which may listen on another port). */
  authoritative?: string[];
  /** PEM of the CAs the pod's certificates chain to, when not the system's. */
  ca?: string;
  /** Mail servers the pod may try port 25 on to see that outbound SMTP is open (in the lab: the other lab pods, never outside). */
  outboundPeers?: string[];
}

export type HostProviders = Partial<Record<HostKind, HostProvider>>;
