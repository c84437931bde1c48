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
import { edgeOf } from "../stack/edge";
import { hostTarget } from "./host-target";
import { bareKey, fingerprint } from "../ssh/keys";
import { authorizedKeysPath, publicKeyOfKeyFile } from "../ssh/login-key";
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
  /** The public key podkit logs in with, when it can tell (a key file; not the SSH agent). */
  loginKey?: string;
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
    // A box behind an edge is reached through it (./host-target.ts).
    const target = hostTarget(pod, host, { identity: opts.identity });
    if (typeof target === "string") {
      // A box whose own target is fine is unreachable because of its edge: the problem is at `edge`.
      const own = provider.target(stack, host, { identity: opts.identity });
      const field = edgeOf(stack, host) !== undefined && typeof own !== "string" ? "edge" : provider.kind;
      problems.push(source.problem(["hosts", host, field], target, "key"));
      continue;
    }
    const selected = roleNames.filter((r) => !opts.roles || opts.roles.includes(r));
    // The key podkit logs in with stays in root's keys; with the SSH agent podkit cannot tell which key that is.
    const loginKey = target.privateKeyPath ? publicKeyOfKeyFile(target.privateKeyPath) : undefined;
    // The host's detected profile is often the one it was rendered for first: rendered once then.
    const rendered = new Map<string, RoleState[]>();
    const render = (profile: HostProfile) => {
      const key = JSON.stringify(profile);
      const known = rendered.get(key);
      if (known) return known;
      const ctx = roleContext(stack, host, (name) => pod.secrets.get(name), profile, loginKey);
      const states = selected.map((r) => roleNamed(r).state(ctx));
      rendered.set(key, states);
      return states;
    };
    const profile = provider.profile(stack, host);
    work.push({
      host,
      target,
      states: render(profile),
      profile,
      declared: provider.declaredFacts?.(stack, host).facts ?? {},
      render,
      ...(loginKey ? { loginKey } : {}),
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
export function roleContext(stack: Stack, host: string, lookup: (name: string) => string | undefined, profile: HostProfile, loginKey?: string): RoleContext {
  return {
    stack, host, fqdn: hostFqdn(stack, host), profile, ...(loginKey ? { loginKey } : {}),
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

/**
 * Hosts podkit would lock itself out of: their roles write the only authorized
 * keys file sshd reads for podkit's user, and no key podkit logs in with is in
 * it. A key file's key is always there (the base role adds it); what is left is
 * the SSH agent, whose keys (`agentKeys`) podkit cannot tell apart: one of them
 * must be an admin key. An agent without keys says nothing (no login at all).
 */
export function lockoutProblems(pod: Pod, work: HostWork[], agentKeys: () => string[]): StackError | undefined {
  const problems = [];
  for (const w of work) {
    const file = w.states.flatMap((s) => s.files).find((f) => f.path === authorizedKeysPath(w.target.user));
    if (!file) continue;
    const kept = new Set(file.content.split("\n").filter((l) => l.trim() && !l.startsWith("#")).map(bareKey));
    const key = w.target.privateKeyPath;
    if (key && !w.loginKey) {
      problems.push(pod.source.problem(["hosts", w.host], `podkit cannot read the public key of ${key}, which it logs in with, to keep it in ` +
        `${authorizedKeysPath(w.target.user)} (the only keys sshd accepts after this apply): write it beside the key, ` +
        `ssh-keygen -y -f ${key} > ${key}.pub (an ed25519, ECDSA or RSA key)`, "key"));
      continue;
    }
    if (key) continue;
    const offered = agentKeys();
    if (!offered.length || offered.some((k) => kept.has(bareKey(k)))) continue;
    problems.push(pod.source.problem(["admin", "sshKeys"], `podkit logs in to host "${w.host}" with the SSH agent, and none of its keys ` +
      `(${offered.map((k) => fingerprint(k)).join(", ")}) is in admin.sshKeys: after this apply sshd accepts only admin.sshKeys and ` +
      "podkit's own key for root, so the next login would be refused. Add your public key to admin.sshKeys, or pass --identity <private key file>."));
  }
  return problems.length ? new StackError(problems) : undefined;
}
