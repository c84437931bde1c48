// What `podkit plan` says each host is: what the host says, when podkit can
// reach it (one short SSH session running only the detection commands), else
// what its kind and the stack say, marked "(not probed)".
import { describeProfile, HOST_FACTS_SCRIPT, parseHostFacts, profileFromFacts } from "../converge/host-facts";
import { hostTarget } from "../converge/host-target";
import { Session } from "../converge/ssh";
import type { Pod } from "../stack/pod";
import type { HostProfile } from "../stack/profile";

export interface ProbedHost {
  profile: HostProfile;
  /** "Debian 12 (bookworm), container (lxc), IPv4 only", or the same ending in "(not probed)". */
  description: string;
  /** Why the host was not looked at (Hetzner hosts before `pulumi up`, an unreachable host, --offline). */
  notProbed?: string;
}

/** A plan must not hang on a host that is down: one short attempt. */
const PROBE = { attemptTimeoutMs: 5000, waitMs: 0, retryEveryMs: 0 };

export async function probeHosts(pod: Pod, opts: { offline?: boolean; identity?: string } = {}): Promise<Record<string, ProbedHost>> {
  const { stack } = pod;
  const entries = await Promise.all(Object.keys(stack.hosts).map(async (host): Promise<[string, ProbedHost]> => {
    const provider = pod.hosts[host];
    const known = provider.profile(stack, host);
    const declared = provider.declaredFacts?.(stack, host).facts ?? {};
    const unprobed = (why: string): [string, ProbedHost] => [host, { profile: known, description: describeProfile(known), notProbed: why }];
    if (opts.offline) return unprobed("--offline");
    const target = hostTarget(pod, host, { identity: opts.identity });
    if (typeof target === "string") return unprobed(target);
    let session: Session | undefined;
    try {
      session = await Session.open(target, PROBE);
      const facts = parseHostFacts(await session.must(HOST_FACTS_SCRIPT.join("\n"), "detecting what the host is"));
      const profile = profileFromFacts(known, facts, declared);
      return [host, { profile, description: describeProfile(profile, facts) }];
    } catch (err) {
      return unprobed((err as Error).message);
    } finally {
      session?.close();
    }
  }));
  return Object.fromEntries(entries);
}
