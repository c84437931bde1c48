// From a pod to work per host: how to reach each host, and the desired state
// of every role on it, all computed (and every secret resolved) before the
// first connection, so a mistake in the stack never half-applies.
import { readLabState, type LabState } from "../lab/state";
import { hostFqdn, rolesByHost } from "../stack/derive";
import type { Pod } from "../stack/pod";
import { StackError } from "../stack/pod";
import type { Stack } from "../stack/schema";
import { roleNamed } from "./registry";
import type { RoleContext } from "./role";
import type { HostTarget } from "./ssh";
import type { RoleState } from "./types";

export interface HostWork {
  host: string;
  target: HostTarget;
  states: RoleState[];
}

export interface PlanOptions {
  hosts?: string[];
  roles?: string[];
  /** Private key for existing hosts (default: the SSH agent). */
  identity?: string;
}

export function planWork(pod: Pod, opts: PlanOptions = {}): HostWork[] {
  const { stack, source } = pod;
  const lab = Object.values(stack.hosts).some((h) => h.lab) ? readLabState() ?? undefined : undefined;
  const problems = [];
  const work: HostWork[] = [];
  for (const [host, roleNames] of Object.entries(rolesByHost(stack))) {
    if (opts.hosts && !opts.hosts.includes(host)) continue;
    const spec = stack.hosts[host];
    if (spec.hcloud) {
      problems.push(source.problem(["hosts", host, "hcloud"], "this host is created and converged by `pulumi up`; `podkit apply` works on existing and lab hosts", "key"));
      continue;
    }
    const selected = roleNames.filter((r) => !opts.roles || opts.roles.includes(r));
    const ctx = roleContext(stack, host, (name) => pod.secrets.get(name), spec.lab ? lab : undefined);
    work.push({
      host,
      target: targetFor(pod, host, lab, opts.identity),
      states: selected.map((r) => roleNamed(r).state(ctx)),
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
export function roleContext(stack: Stack, host: string, lookup: (name: string) => string | undefined, lab?: LabState): RoleContext {
  return {
    stack, host, fqdn: hostFqdn(stack, host), lab,
    secret: (name: string) => {
      const v = lookup(name);
      if (v === undefined) throw new Error(`secret "${name}" has no value`);
      return v;
    },
  };
}

function targetFor(pod: Pod, host: string, lab: LabState | undefined, identity?: string): HostTarget {
  const spec = pod.stack.hosts[host];
  if (spec.lab) {
    const h = lab!.hosts[spec.lab.name];
    return { name: host, address: h.address, port: 22, user: h.user, hostKey: h.hostKey, privateKeyPath: h.sshPrivateKeyPath };
  }
  const e = spec.existing!;
  return {
    name: host, address: e.ssh.host ?? e.address, port: e.ssh.port, user: e.ssh.user,
    hostKey: e.hostKey!, privateKeyPath: identity,
  };
}
