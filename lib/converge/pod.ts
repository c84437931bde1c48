// From a pod to work per host: how to reach each host, and the desired state
// of every role on it, all computed (and every secret resolved) before the
// first connection, so a mistake in the stack never half-applies. The states
// are rendered for the profile the host's kind and the stack give; once
// connected, converge renders them again for what the host says it is
// (`render`), which differs only in facts, never in whether the stack is valid.
import { hostFqdn, rolesByHost } from "../stack/derive";
import type { Pod } from "../stack/pod";
import { StackError } from "../stack/pod";
import type { DetectableFacts, HostProfile } from "../stack/profile";
import type { Stack } from "../stack/schema";
import { GENERATED } from "../stack/secrets";
import { roleNamed } from "./registry";
import type { RoleContext } from "./role";
import type { HostTarget } from "../ssh/connect";
import type { RoleState } from "./types";

export interface HostWork {
  host: string;
  target: HostTarget;
  /** The roles rendered for `profile`. */
  states: RoleState[];
  /** The host's profile before anything looked at it: its kind's, with the facts the stack declares. */
  profile: HostProfile;
  /** Facts the stack declares for the host: they win over detection. */
  declared: Partial<DetectableFacts>;
  /** The same roles rendered for another profile (the detected one). */
  render(profile: HostProfile): RoleState[];
}

export interface PlanOptions {
  hosts?: string[];
  roles?: string[];
  /** Private key for existing hosts (default: the SSH agent). */
  identity?: string;
}

export function planWork(pod: Pod, opts: PlanOptions = {}): HostWork[] {
  const { stack, source } = pod;
  const problems = [];
  const work: HostWork[] = [];
  for (const [host, roleNames] of Object.entries(rolesByHost(stack))) {
    if (opts.hosts && !opts.hosts.includes(host)) continue;
    const provider = pod.hosts[host];
    const target = provider.target(stack, host, { identity: opts.identity });
    if (typeof target === "string") {
      problems.push(source.problem(["hosts", host, provider.kind], target, "key"));
      continue;
    }
    const selected = roleNames.filter((r) => !opts.roles || opts.roles.includes(r));
    const render = (profile: HostProfile) => {
      const ctx = roleContext(stack, host, (name) => pod.secrets.get(name), profile);
      return selected.map((r) => roleNamed(r).state(ctx));
    };
    const profile = provider.profile(stack, host);
    work.push({
      host,
      target: { name: host, ...target },
      states: render(profile),
      profile,
      declared: provider.declaredFacts?.(stack, host).facts ?? {},
      render,
    });
  }
  if (problems.length) throw new StackError(problems);
  return work;
}

/**
 * What a role sees of the pod when it renders one host: the same for
 * `podkit apply` (secrets from the secrets file) and `pulumi up` (secrets from
 * Pulumi config, resolved first), so both render byte-identical state.
 */
export function roleContext(stack: Stack, host: string, lookup: (name: string) => string | undefined, profile: HostProfile): RoleContext {
  return {
    stack, host, fqdn: hostFqdn(stack, host), profile,
    secret: (name: string) => {
      const v = lookup(name);
      if (v === undefined) {
        // A pod from before podkit generated this secret: `podkit apply` or `podkit secrets` creates it.
        const hint = (Object.values(GENERATED) as string[]).includes(name) ? ` (podkit generates it: \`podkit secrets <stack>\` or \`podkit apply\` creates it)` : "";
        throw new Error(`secret "${name}" has no value${hint}`);
      }
      return v;
    },
  };
}
