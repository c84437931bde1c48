// What `podkit apply` and `podkit diff` share: validate everything, then one
// SSH session per host (hosts in parallel, of one pod or several; a box behind
// an edge after its edge, ../converge/edge-order.ts), roles in order on each. What it prints: every line names its pod and host, a short
// line per role, live package progress on a terminal, then a closing table
// and, last, each failure with the command to run next (./converge-report.ts).
import { basename } from "node:path";
import { convergeHost, ConvergeError, type HostReport, type RoleReport } from "../converge/apply";
import { EdgeFailed, edgesFirst } from "../converge/edge-order";
import { describePackageProgress } from "../converge/apt-progress";
import { lockoutProblems, planWork, type HostWork } from "../converge/pod";
import { ONE_ATTEMPT, type HostTarget } from "../ssh/connect";
import { agentPublicKeys } from "../ssh/login-key";
import { Session } from "../converge/ssh";
import { HostBusy } from "../converge/host-lock";
import type { HostProvider, HostProviders } from "../stack/host-provider";
import { loadPod, StackError, type Pod } from "../stack/pod";
import type { Problem } from "../stack/problems";
import { lockWaitOption, parse } from "./args";
import { closingTable, describeFailure, failureLines, roleLines, whose, type Failure, type TableRow } from "./converge-report";
import { EXIT, UsageError } from "./exit";
import { detectProfile, type Detection } from "./host-detection";
import { hostProviders } from "./hosts";
import { withStackErrors } from "./report";
import { Terminal, type TerminalStream } from "./terminal";

export const OPTIONS = {
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  host: { type: "string", multiple: true },
  role: { type: "string", multiple: true },
  secrets: { type: "string" },
  identity: { type: "string", short: "i" },
  "exit-code": { type: "boolean" },
  "lock-wait": { type: "string" },
} as const;

/** Where the output goes, and how a host is reached (tests hand in their own). */
export interface ConvergeIO {
  out: TerminalStream;
  err: TerminalStream;
  /** `say` hears what the connect has to say (a box reached directly, its tunnel not up yet). */
  open?: (target: HostTarget, say: (line: string) => void) => Promise<Session>;
  env?: NodeJS.ProcessEnv;
}

/** One stack file's pod and its work, loaded and checked before any connection. */
interface PodRun {
  file: string;
  pod: Pod;
  name: string;
  work: HostWork[];
  kinds: HostProvider[];
}

/** A host's outcome: its report, or the error that stopped it with the roles that finished before it. */
interface HostOutcome {
  run: PodRun;
  work: HostWork;
  roles: RoleReport[];
  report?: HostReport;
  error?: Error;
  failure?: Failure;
}

/** `providers`: the kinds of host, each with what it sets up around an apply (tests hand in their own). */
export async function runConverge(argv: string[], help: string, dryRun: boolean, providers: HostProviders = hostProviders(),
  io: ConvergeIO = { out: process.stdout, err: process.stderr }): Promise<number> {
  const args = parse(argv, OPTIONS, help);
  if (!args) return EXIT.OK;
  if (args.positionals.length < 1) throw new UsageError(`name a stack file (or several: their pods are applied side by side)\n\n${help}`);
  const { values } = args;
  // With --json, stdout is the report alone: the lines go to stderr.
  const term = new Terminal(values.json ? io.err : io.out, { env: io.env ?? process.env });
  const open = io.open ?? ((target: HostTarget, say: (line: string) => void) => Session.open(target, { ...ONE_ATTEMPT, say }));
  const say = (line: string) => term.line(line);
  const lockWait = lockWaitOption(values["lock-wait"]);

  return withStackErrors(async () => {
    // Everything that can be wrong with any of the stacks is found here, before any connection.
    const runs = loadAll(args.positionals, { providers, dryRun, secrets: values.secrets, hosts: values.host, roles: values.role, identity: values.identity, say });
    // What each kind of host among a pod's sets up around an apply (the lab: its DNS, its backup target).
    for (const run of runs) {
      const hook = { roles: values.role, log: (line: string) => say(`${run.name}: ${line}`) };
      for (const kind of run.kinds) await kind.beforeApply?.(run.pod, hook);
    }
    const alongside = Promise.all(runs.flatMap((run) => run.kinds.map((kind) =>
      (kind.alongsideApply?.(run.pod, { roles: values.role, log: (line: string) => say(`${run.name}: ${line}`) }) ?? Promise.resolve())
        .then(() => undefined, (err: Error) => ({ run, err })))));
    const started = Date.now();
    const detections = new Map<HostWork, Detection>();
    const convergeOne = async (run: PodRun, w: HostWork, blocked?: EdgeFailed): Promise<HostOutcome> => {
      const who = whose(run.name, w.host);
      // Lines converge and detection make start with the host's name: they get the pod's too.
      const hostSay = (line: string) => say(`${who}${line.startsWith(`${w.host}:`) ? line.slice(w.host.length) : ` ${line}`}`);
      const detection = detectProfile(run.pod.stack, w, hostSay);
      detections.set(w, detection);
      const outcome: HostOutcome = { run, work: w, roles: [] };
      let session: Session | undefined;
      term.setStatus(who, `${who}: connecting`);
      try {
        if (blocked) throw blocked;
        session = await open(w.target, hostSay);
        term.setStatus(who, `${who}: gathering facts`);
        // Each host's roles are rendered again for what the host says it is, in the facts round-trip.
        outcome.report = await convergeHost(session, w.states, {
          dryRun,
          progress: (line) => {
            hostSay(line);
            // Converge says when packages are in: the live line moves on to the roles.
            term.setStatus(who, rolesStatus(who, w, outcome.roles.length));
          },
          onHost: detection.onHost,
          // One run changes a host at a time (lib/converge/host-lock.ts); a diff only reads.
          lock: { what: "apply", waitS: lockWait, say: (line) => {
            hostSay(line);
            term.setStatus(who, `${who}: waiting for another run to finish`);
          } },
          onPackages: (p) => term.setStatus(who, `${who}: ${describePackageProgress(p)}`),
          onRole: (r) => {
            outcome.roles.push(r);
            for (const line of roleLines(who, r, { dryRun, verbose: values.verbose })) say(line);
            term.setStatus(who, rolesStatus(who, w, outcome.roles.length));
          },
        });
      } catch (err) {
        outcome.error = err as Error;
        outcome.failure = describeFailure(outcome.error, { pod: run.name, stackFile: run.file, host: w.host, lab: run.pod.hosts[w.host]?.kind === "lab" });
        say(`${who} ${outcome.failure.role}: FAILED: ${outcome.failure.what} (the message and what to do are at the end)`);
      } finally {
        session?.close();
        term.setStatus(who, undefined);
      }
      return outcome;
    };
    // An apply converges each edge before the boxes behind it; a diff changes nothing, so all at once.
    const outcomes = await Promise.all(runs.flatMap((run) => {
      const work = new Map(run.work.map((w) => [w.host, w]));
      if (dryRun) return run.work.map((w) => convergeOne(run, w));
      return edgesFirst(run.pod.stack, run.work.map((w) => w.host), {
        converge: (host, blocked) => convergeOne(run, work.get(host)!, blocked),
        failed: (o) => o.error !== undefined,
        waiting: (host, edge) => term.setStatus(whose(run.name, host), `${whose(run.name, host)}: waiting for its edge ${edge}`),
      });
    })).finally(() => term.finish());

    const hookErrors = (await alongside).filter((e): e is { run: PodRun; err: Error } => e !== undefined);
    const reports = outcomes.filter((o) => o.report);
    const failures: Failure[] = [
      ...outcomes.flatMap((o) => (o.failure ? [o.failure] : [])),
      ...hookErrors.map(({ run, err }) => describeFailure(err, { pod: run.name, stackFile: run.file })),
    ];
    // --json counts the hosts it reports (those that finished); the closing line every change made, on a host that failed too.
    const changes = reports.reduce((n, o) => n + o.report!.roles.reduce((m, r) => m + r.changes.length, 0), 0);
    const made = outcomes.reduce((n, o) => n + o.roles.reduce((m, r) => m + r.changes.length, 0), 0);
    const touched = outcomes.filter((o) => o.roles.length).length;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);

    if (dryRun && !values.json) for (const o of reports) for (const r of o.report!.roles) for (const d of r.diffs ?? []) io.out.write(d);
    if (values.json) {
      io.out.write(`${JSON.stringify({
        changes, seconds: Number(seconds),
        hosts: reports.map((o) => {
          const h = o.report!;
          return {
            host: h.host, ...(runs.length > 1 ? { pod: o.run.name } : {}), profile: detections.get(o.work)?.description(), ms: h.ms,
            roles: h.roles.map((r) => ({ role: r.role, changes: r.changes.length, items: r.changes, ms: r.ms, ...(r.diffs ? { diffs: r.diffs } : {}) })),
          };
        }),
        errors: [...outcomes.flatMap((o) => (o.error ? [o.error.message] : [])), ...hookErrors.map((e) => e.err.message)],
      }, null, 2)}\n`);
    } else {
      say("");
      for (const line of closingTable(tableRows(outcomes, dryRun))) say(term.paint(line, line.startsWith("HOST ") ? "bold" : "dim"));
    }
    // Failures last, where a person looks; then the one-line total.
    if (failures.length) {
      say("");
      for (const line of failureLines(failures)) say(line.startsWith("FAILED ") ? term.paint(line, "red") : line);
    }
    const total = `${failures.length ? `FAILED on ${failures.length} host(s); ` : ""}${made ? `${made} change(s)${dryRun ? " to make" : ""}` : "no changes"} on ${touched} host(s) in ${seconds}s`;
    say(term.paint(total, failures.length ? "red" : changes ? "yellow" : "green"));
    // A role that failed is 1; a host another run holds, 75 (try again later; its boxes wait with it); a host not reached, or anything around the roles, 69.
    if (failures.length) {
      if (outcomes.some((o) => o.error instanceof ConvergeError)) return EXIT.FAILED;
      return outcomes.some((o) => o.error instanceof HostBusy) && outcomes.every((o) => !o.error || o.error instanceof HostBusy || o.error instanceof EdgeFailed) && !hookErrors.length
        ? EXIT.TEMPFAIL : EXIT.UNAVAILABLE;
    }
    return dryRun && values["exit-code"] && changes ? EXIT.FAILED : EXIT.OK;
  });
}

/** A host's live line while its roles apply: "lab-a/mx: 3 of 6 role(s) done, now xmpp" (roles go in order). */
function rolesStatus(who: string, w: HostWork, done: number): string {
  const next = w.states[done]?.role;
  return `${who}: ${done} of ${w.states.length} role(s) done${next ? `, now ${next}` : ""}`;
}

interface LoadOptions {
  providers: HostProviders;
  dryRun: boolean;
  secrets?: string;
  hosts?: string[];
  roles?: string[];
  identity?: string;
  say: (line: string) => void;
}

/** Every stack's pod and work, with the problems of all of them at once. */
function loadAll(files: string[], o: LoadOptions): PodRun[] {
  const problems: Problem[] = [];
  const runs: PodRun[] = [];
  if (files.length > 1 && o.secrets) throw new UsageError("--secrets names one pod's secrets file: give one stack file with it");
  for (const file of files) {
    // Until the stack is read, its file name stands for the pod.
    const label = basename(file).replace(/\.ya?ml$/, "");
    try {
      const pod = loadPod(file, { providers: o.providers, secretsFile: o.secrets, generate: !o.dryRun, requireSecrets: true, log: (line) => o.say(`${label}: ${line}`) });
      const work = planWork(pod, { hosts: o.hosts, roles: o.roles, identity: o.identity });
      const lockout = lockoutProblems(pod, work, agentPublicKeys);
      if (lockout) throw lockout;
      runs.push({ file, pod, name: pod.stack.pod, work, kinds: o.dryRun ? [] : [...new Set(Object.values(pod.hosts))] });
    } catch (err) {
      if (!(err instanceof StackError)) throw err;
      problems.push(...err.problems);
    }
  }
  if (problems.length) throw new StackError(problems);
  return runs;
}

/** A row per role of each host: the finished ones, the failing one, and those not run after it. */
function tableRows(outcomes: HostOutcome[], dryRun: boolean): TableRow[] {
  return outcomes.flatMap((o) => {
    const who = whose(o.run.name, o.work.host);
    const finished = (o.report?.roles ?? o.roles).map((r): TableRow => ({
      who, role: r.role, changes: r.changes.length, ms: r.ms, result: r.changes.length ? (dryRun ? "would change" : "changed") : "unchanged",
    }));
    if (!o.error) return finished;
    const done = new Set(finished.map((r) => r.role));
    const left = o.work.states.map((s) => s.role).filter((r) => !done.has(r));
    // A role that failed is its own row; a step that is no role's (connecting, packages) gets one, the roles after it were not run.
    const failing = o.error instanceof ConvergeError ? o.error.role.split(",") : [];
    const step: TableRow[] = failing.length ? [] : [{ who, role: o.failure?.role ?? "apply", result: "FAILED" }];
    const rest = left.map((role): TableRow => ({ who, role, result: failing.includes(role) ? "FAILED" : "not run" }));
    return [...finished, ...step, ...rest];
  });
}
