// What `podkit apply` and `podkit diff` share: validate everything, then one
// SSH session per host (hosts in parallel), roles in order on each.
import { convergeHost, ConvergeError, type HostReport } from "../converge/apply";
import { lockoutProblems, planWork } from "../converge/pod";
import { agentPublicKeys } from "../ssh/login-key";
import { Session } from "../converge/ssh";
import { HostKeyMismatch } from "../ssh/connect";
import type { HostProviders } from "../stack/host-provider";
import { loadPod } from "../stack/pod";
import { parse } from "./args";
import { EXIT, UsageError } from "./exit";
import { detectProfile } from "./host-detection";
import { hostProviders } from "./hosts";
import { withStackErrors } from "./report";

export const OPTIONS = {
  json: { type: "boolean" },
  host: { type: "string", multiple: true },
  role: { type: "string", multiple: true },
  secrets: { type: "string" },
  identity: { type: "string", short: "i" },
  "exit-code": { type: "boolean" },
} as const;

/** `providers`: the kinds of host, each with what it sets up around an apply (tests hand in their own). */
export async function runConverge(argv: string[], help: string, dryRun: boolean, providers: HostProviders = hostProviders()): Promise<number> {
  const args = parse(argv, OPTIONS, help);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${help}`);
  const { values } = args;
  const log = values.json ? (line: string) => console.error(line) : (line: string) => console.log(line);

  return withStackErrors(async () => {
    // Everything that can be wrong with the input is found here, before any connection.
    const pod = loadPod(args.positionals[0], { providers, secretsFile: values.secrets, generate: !dryRun, requireSecrets: true, log });
    const work = planWork(pod, { hosts: values.host, roles: values.role, identity: values.identity });
    const lockout = lockoutProblems(pod, work, agentPublicKeys);
    if (lockout) throw lockout;
    // What each kind of host among the pod's sets up around an apply (the lab: its DNS, its backup target).
    const kinds = dryRun ? [] : [...new Set(Object.values(pod.hosts))];
    const hook = { roles: values.role, log };
    for (const kind of kinds) await kind.beforeApply?.(pod, hook);
    const alongside = Promise.all(kinds.map((kind) => (kind.alongsideApply?.(pod, hook) ?? Promise.resolve())
      .then(() => undefined, (err: Error) => err)));
    const started = Date.now();
    const detections = new Map(work.map((w) => [w.host, detectProfile(pod.stack, w, log)]));
    const results = await Promise.all(work.map(async (w): Promise<HostReport | Error> => {
      let session: Session | undefined;
      try {
        session = await Session.open(w.target);
        // Each host's roles are rendered again for what the host says it is, in the facts round-trip.
        return await convergeHost(session, w.states, { dryRun, progress: log, onHost: detections.get(w.host)!.onHost });
      } catch (err) {
        log(`${w.host}: ${err instanceof ConvergeError || err instanceof HostKeyMismatch ? "" : "error: "}${(err as Error).message}`);
        return err as Error;
      } finally {
        session?.close();
      }
    }));

    const hookErrors = (await alongside).filter((e): e is Error => e !== undefined);
    for (const e of hookErrors) log(e.message);
    const reports = results.filter((r): r is HostReport => !(r instanceof Error));
    const failed = [...results.filter((r): r is Error => r instanceof Error), ...hookErrors];
    const changes = reports.reduce((n, h) => n + h.roles.reduce((m, r) => m + r.changes.length, 0), 0);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    if (dryRun && !values.json) for (const h of reports) for (const r of h.roles) for (const d of r.diffs ?? []) process.stdout.write(d);
    if (values.json) {
      console.log(JSON.stringify({
        changes, seconds: Number(seconds),
        hosts: reports.map((h) => ({ host: h.host, profile: detections.get(h.host)?.description(), ms: h.ms, roles: h.roles.map((r) => ({ role: r.role, changes: r.changes.length, items: r.changes, ms: r.ms, ...(r.diffs ? { diffs: r.diffs } : {}) })) })),
        errors: failed.map((e) => e.message),
      }, null, 2));
    } else {
      log(`${failed.length ? `FAILED on ${failed.length} host(s); ` : ""}${changes ? `${changes} change(s)${dryRun ? " to make" : ""}` : "no changes"} on ${reports.length} host(s) in ${seconds}s`);
    }
    if (failed.length) return failed.some((e) => e instanceof ConvergeError) ? EXIT.FAILED : EXIT.UNAVAILABLE;
    return dryRun && values["exit-code"] && changes ? EXIT.FAILED : EXIT.OK;
  });
}
