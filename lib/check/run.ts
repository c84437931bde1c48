// `podkit check`'s work: every group of checks at once, each with short
// timeouts, a live line saying which are still running, and the results in
// one report. The pod's own state comes from the host's check script over the
// pinned SSH session (./pod-state.ts); everything else is asked from here, as
// the rest of the world asks.
import type { Resolver } from "node:dns/promises";
import { planDns } from "../dns/plan";
import { publicAddresses } from "../dns/public-addresses";
import { hostTarget } from "../converge/host-target";
import { Session } from "../converge/ssh";
import type { CheckEnvironment } from "../stack/host-provider";
import type { Pod } from "../stack/pod";
import { resolverAt } from "./dns-lookup";
import { dnsChecks } from "./dns";
import { identityChecks } from "./identity";
import { notApplied, parsePodState, stateCommand, type PodState } from "./pod-state";
import { reachChecks, reachJobs } from "./reach";
import { reputationChecks } from "./reputation";
import { type CheckResult, type Group, problem, withTimeout } from "./result";
import { CHECK_PATHS } from "../../roles/check/role";

export interface CheckOptions {
  file: string;
  /** Only this host (--host). */
  hosts: string[];
  identity?: string;
  /** A certificate ending sooner fails (--cert-days, default 14). */
  certDays: number;
  /** Disk or inodes used at or above this percent fail (--disk-full-at; the pod's default otherwise). */
  diskFailPercent?: number;
  /** Mail servers the pod tries port 25 on (--smtp-probe); the lab names its own. */
  smtpProbe?: string[];
  /** Each group's progress, for the live line. */
  onProgress?: (group: Group, text: string | undefined) => void;
}

/** One attempt, short: a host that is down is a result, not a wait. */
const SSH_POLICY = { attemptTimeoutMs: 8000, waitMs: 0, retryEveryMs: 0 };
const TIMEOUT_MS = 6000;
const SMTP_TIMEOUT_MS = 15000;
/** The host's check script (apt's simulated upgrade is its slowest part). */
const POD_LIMIT_MS = 30000;
/** No group may hold the whole command longer than this. */
const GROUP_LIMIT_MS = 45000;

export async function runChecks(pod: Pod, opts: CheckOptions): Promise<CheckResult[]> {
  const { stack } = pod;
  const env: CheckEnvironment = Object.values(pod.hosts).find((p) => p.checkEnvironment)?.checkEnvironment?.(stack) ?? {};
  const recursive: Resolver = resolverAt(env.resolvers);
  const records = planDns(stack, pod.dns);
  // Where the world reaches each host: a box behind an edge at its edge (its own address is on its LAN).
  const addresses = publicAddresses(stack, pod.addresses);
  const progress = opts.onProgress ?? (() => {});

  // The pod's state first: the DKIM comparison waits for the key it reads.
  const states = new Map(opts.hosts.map((h) => [h, podState(pod, h, opts, env)]));
  const mailHost = stack.mail?.host;
  // A host that hangs must not take the DNS group with it: without the key in time, that one check is skipped.
  const podDkimKey = mailHost && states.has(mailHost)
    ? withTimeout(POD_LIMIT_MS, "the pod's DKIM key", () => states.get(mailHost)!.then((s) => s.info["dkim-key"] || undefined)).catch(() => undefined)
    : Promise.resolve(undefined);

  const totalProbes = reachJobs({ stack, hosts: opts.hosts, addresses }).length;
  let probed = 0;
  const group = async (g: Group, body: () => Promise<CheckResult[]>): Promise<CheckResult[]> => {
    progress(g, "running");
    try {
      return await withTimeout(GROUP_LIMIT_MS, g, body);
    } catch (err) {
      return [problem("fail", g, `${g}/unfinished`, `the ${g} checks did not finish: ${(err as Error).message}`, "what they would have found is unknown", `podkit check ${opts.file} again; if it stays, the network from here to the pod`)];
    } finally {
      progress(g, undefined);
    }
  };
  const all = await Promise.all([
    group("dns", () => dnsChecks({ stack, file: opts.file, records, env, recursive, podDkimKey, timeoutMs: TIMEOUT_MS })),
    group("identity", () => identityChecks({ stack, hosts: opts.hosts, addresses, recursive })),
    group("reachability", () => reachChecks({
      stack, file: opts.file, hosts: opts.hosts, addresses, ca: env.ca, certDays: opts.certDays, timeoutMs: TIMEOUT_MS, smtpTimeoutMs: SMTP_TIMEOUT_MS,
      onDone: () => progress("reachability", `${++probed} of ${totalProbes} ports`),
    })),
    group("reputation", () => reputationChecks({ stack, hosts: opts.hosts, addresses, recursive })),
    group("pod", async () => (await Promise.all([...states.values()])).flatMap((s) => s.results)),
  ]);
  return all.flat();
}

/** The host's check script, run once over the pinned SSH session. */
async function podState(pod: Pod, host: string, opts: CheckOptions, env: CheckEnvironment): Promise<PodState> {
  const { stack } = pod;
  const target = hostTarget(pod, host, { identity: opts.identity });
  const unreachable = (why: string): PodState => ({
    info: {},
    results: [problem("fail", "pod", "pod/ssh", `cannot check ${host} over SSH: ${why}`, "the pod's own state (services, queue, disk, backups) cannot be checked", `ssh root@${typeof target === "string" ? host : target.address} to see why; podkit apply ${opts.file} --host ${host} when it is up`, host)],
  });
  if (typeof target === "string") return unreachable(target);
  let session: Session | undefined;
  try {
    session = await Session.open(target, SSH_POLICY);
    const outbound = stack.mail?.host === host ? (opts.smtpProbe ?? env.outboundPeers ?? []) : [];
    const script = `test -x ${CHECK_PATHS.script} || exit 3\n${stateCommand({ diskFailPercent: opts.diskFailPercent, certDays: opts.certDays, outbound })}`;
    const r = await withTimeout(POD_LIMIT_MS, "the check script", () => session!.run(script));
    if (r.code === 3) return { info: {}, results: [notApplied(host, opts.file)] };
    const parsed = parsePodState(r.stdout, host);
    if (r.code !== 0) {
      parsed.results.push(problem("warn", "pod", "pod/script", `the check script ended with exit ${r.code}: ${r.stderr.trim().slice(-300)}`, "some of the pod's own checks may be missing", `podkit apply ${opts.file} --host ${host}`, host));
    }
    return parsed;
  } catch (err) {
    return unreachable((err as Error).message);
  } finally {
    session?.close();
  }
}
