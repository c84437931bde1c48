// What `podkit apply` and `podkit diff` share: validate everything, then one
// SSH session per host (hosts in parallel), roles in order on each.
import { convergeHost, ConvergeError, type HostReport } from "../converge/apply";
import { planWork } from "../converge/pod";
import { HostKeyMismatch, Session } from "../converge/ssh";
import { planDns } from "../dns/plan";
import { renderZones } from "../dns/zonefile";
import { ensureLabBackupTarget, isLabTarget } from "../lab/backup-target";
import { publishLabZones } from "../lab/dns";
import { readLabState } from "../lab/state";
import { loadPod, type Pod } from "../stack/pod";
import { parse } from "./args";
import { EXIT, UsageError } from "./exit";
import { withStackErrors } from "./report";

export const OPTIONS = {
  json: { type: "boolean" },
  host: { type: "string", multiple: true },
  role: { type: "string", multiple: true },
  secrets: { type: "string" },
  identity: { type: "string", short: "i" },
  "exit-code": { type: "boolean" },
} as const;

export async function runConverge(argv: string[], help: string, dryRun: boolean): Promise<number> {
  const args = parse(argv, OPTIONS, help);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${help}`);
  const { values } = args;
  const log = values.json ? (line: string) => console.error(line) : (line: string) => console.log(line);

  return withStackErrors(async () => {
    // Everything that can be wrong with the input is found here, before any connection.
    const pod = loadPod(args.positionals[0], { secretsFile: values.secrets, generate: !dryRun, requireSecrets: true, log });
    const work = planWork(pod, { hosts: values.host, roles: values.role, identity: values.identity });
    if (!dryRun) await publishLabDns(pod, log);
    // The lab's backup target is needed by the pod's first backup, not by apply: set it up alongside.
    const target: Promise<Error | undefined> = (!dryRun && (!values.role || values.role.includes("backup")) ? provideLabBackupTarget(pod, log) : Promise.resolve())
      .then(() => undefined, (err: Error) => err);
    const started = Date.now();
    const results = await Promise.all(work.map(async (w): Promise<HostReport | Error> => {
      let session: Session | undefined;
      try {
        session = await Session.open(w.target);
        return await convergeHost(session, w.states, { dryRun, progress: log });
      } catch (err) {
        log(`${w.host}: ${err instanceof ConvergeError || err instanceof HostKeyMismatch ? "" : "error: "}${(err as Error).message}`);
        return err as Error;
      } finally {
        session?.close();
      }
    }));

    const targetError = await target;
    if (targetError) log(targetError.message);
    const reports = results.filter((r): r is HostReport => !(r instanceof Error));
    const failed = [...results.filter((r): r is Error => r instanceof Error), ...(targetError ? [targetError] : [])];
    const changes = reports.reduce((n, h) => n + h.roles.reduce((m, r) => m + r.changes.length, 0), 0);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    if (dryRun && !values.json) for (const h of reports) for (const r of h.roles) for (const d of r.diffs ?? []) process.stdout.write(d);
    if (values.json) {
      console.log(JSON.stringify({
        changes, seconds: Number(seconds),
        hosts: reports.map((h) => ({ host: h.host, ms: h.ms, roles: h.roles.map((r) => ({ role: r.role, changes: r.changes.length, items: r.changes, ms: r.ms, ...(r.diffs ? { diffs: r.diffs } : {}) })) })),
        errors: failed.map((e) => e.message),
      }, null, 2));
    } else {
      log(`${failed.length ? `FAILED on ${failed.length} host(s); ` : ""}${changes ? `${changes} change(s)${dryRun ? " to make" : ""}` : "no changes"} on ${reports.length} host(s) in ${seconds}s`);
    }
    if (failed.length) return failed.some((e) => e instanceof ConvergeError) ? EXIT.FAILED : EXIT.UNAVAILABLE;
    return dryRun && values["exit-code"] && changes ? EXIT.FAILED : EXIT.OK;
  });
}

/** A lab pod's DNS is the lab's: publish its zone before converging, as `pulumi up` does at Cloudflare. */
async function publishLabDns(pod: Pod, log: (line: string) => void): Promise<void> {
  const lab = Object.values(pod.stack.hosts).some((h) => h.lab) ? readLabState() : null;
  if (!lab) return;
  const zones = renderZones(pod.stack, planDns(pod.stack, pod.dns));
  for (const zone of await publishLabZones(zones, lab.authoritative.zones)) log(`lab DNS: published zone ${zone}`);
}

/** A lab pod backing up to the lab's backup host: that "provider" must know the pod's logins before the pod first backs up. */
async function provideLabBackupTarget(pod: Pod, log: (line: string) => void): Promise<void> {
  const rest = pod.stack.backup?.target.rest;
  const lab = rest && Object.values(pod.stack.hosts).some((h) => h.lab) ? readLabState() : null;
  if (!lab || !rest || !isLabTarget(lab, rest.url) || !rest.username || !rest.password) return;
  const secret = (name: string) => pod.secrets.get(name) ?? "";
  const prune = rest.prune ? [{ username: rest.prune.username, password: secret(rest.prune.password.secret) }] : [];
  await ensureLabBackupTarget(lab, [{ username: rest.username, password: secret(rest.password.secret) }], prune, log);
}
