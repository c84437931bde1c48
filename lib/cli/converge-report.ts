// What a person reads after `podkit apply` and `podkit diff`: a short line per
// role (the full list under --verbose and in --json), a closing table per host,
// and at the very end each failure with its host, its role, what failed, the
// daemon's own words and the command to run next. Pure functions of the
// reports, so what is printed is tested without a host.
import { ConvergeError, type RoleReport } from "../converge/apply";
import { EdgeFailed } from "../converge/edge-order";
import { HostBusy } from "../converge/host-lock";
import { HostKeyMismatch } from "../ssh/connect";

/** "lab-a/mx": whose a line is. Always both: two pods may both call their host mx. */
export const whose = (pod: string, host: string) => `${pod}/${host}`;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const unitName = (u: string) => u.replace(/\.service$/, "");

/**
 * A role's change items ("+pkg postfix", "/etc/postfix/main.cf", "/etc/x/",
 * "-/etc/y", "reload-or-restart postfix.service", handler names) in a few
 * words: "14 files, 9 packages, restarted postfix dovecot". Steps (handlers)
 * are named when one or two, counted when more: --verbose lists them.
 */
export function summarizeChanges(items: string[]): string {
  const packages: string[] = [];
  const removedPackages: string[] = [];
  let files = 0, dirs = 0, removed = 0;
  const verbs: Record<string, string[]> = { enabled: [], restarted: [], reloaded: [], ran: [] };
  for (const item of items) {
    const [verb, ...rest] = item.split(" ");
    const unit = unitName(rest.join(" "));
    if (item.startsWith("+pkg ")) packages.push(item.slice(5));
    else if (item.startsWith("-pkg ")) removedPackages.push(item.slice(5));
    else if (item.startsWith("-/")) removed++;
    else if (item.startsWith("/")) item.split(" ")[0].endsWith("/") ? dirs++ : files++;
    else if (verb === "enable") verbs.enabled.push(unit);
    else if (verb === "restart") verbs.restarted.push(unit);
    else if (verb === "reload-or-restart") verbs.reloaded.push(unit);
    else verbs.ran.push(item);
  }
  // A unit enabled and (re)started is one that was not there: "started".
  const started = verbs.restarted.filter((u) => verbs.enabled.includes(u));
  const ran = verbs.ran.length > 2 ? `ran ${verbs.ran.length} steps` : verbs.ran.length ? `ran ${verbs.ran.join(", ")}` : "";
  const units = (verb: string, xs: string[]) => (xs.length ? `${verb} ${xs.join(" ")}` : "");
  const parts = [
    files && plural(files, "file"),
    dirs && plural(dirs, "dir"),
    removed && `${plural(removed, "file")} removed`,
    packages.length && plural(packages.length, "package"),
    removedPackages.length && `${plural(removedPackages.length, "package")} removed`,
    units("started", started),
    units("enabled", verbs.enabled.filter((u) => !started.includes(u))),
    units("restarted", verbs.restarted.filter((u) => !started.includes(u))),
    units("reloaded", verbs.reloaded),
    ran,
  ].filter(Boolean);
  return parts.join(", ");
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The lines of one finished role: "lab-a/mx mail: 14 files, 9 packages, reloaded postfix (3.1s)", the items under it with verbose. */
export function roleLines(who: string, r: RoleReport, opts: { dryRun?: boolean; verbose?: boolean } = {}): string[] {
  if (!r.changes.length) return [`${who} ${r.role}: unchanged (${secs(r.ms)})`];
  const head = `${who} ${r.role}: ${opts.dryRun ? "would change: " : ""}${summarizeChanges(r.changes)} (${secs(r.ms)})`;
  return opts.verbose ? [head, ...r.changes.map((c) => `${who} ${r.role}:   ${c}`)] : [head];
}

export interface TableRow {
  who: string;
  role: string;
  /** Number of changes, or undefined when the role did not finish. */
  changes?: number;
  ms?: number;
  result: "changed" | "would change" | "unchanged" | "FAILED" | "not run";
}

/** The closing table: one row per role of each host, columns aligned, a header. */
export function closingTable(rows: TableRow[]): string[] {
  const cells = rows.map((r) => [r.who, r.role, r.changes === undefined ? "-" : String(r.changes), r.ms === undefined ? "-" : secs(r.ms), r.result]);
  const all = [["HOST", "ROLE", "CHANGES", "TIME", "RESULT"], ...cells];
  const widths = all[0].map((_, i) => Math.max(...all.map((row) => row[i].length)));
  // Numbers right-aligned, words left-aligned; no trailing spaces.
  const right = new Set([2, 3]);
  return all.map((row) => row.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd());
}

export interface Failure {
  /** "lab-a/mx", or the pod alone when the failure is not one host's. */
  who: string;
  /** The role, or the step that is not a role's: "connect", "packages", "facts", a hook. */
  role: string;
  /** What failed, in one line. */
  what: string;
  /** The daemon's or the tool's own message, as it said it. */
  message: string;
  /** The command to run next. */
  next: string;
}

export interface FailureContext {
  pod: string;
  stackFile: string;
  /** The host the error came from; none for a hook of the pod's kind of host. */
  host?: string;
  /** The host is a lab host: its state is in `podkit lab status`. */
  lab?: boolean;
}

/** "(/a, /b, /c, /d, /e)" as "(/a, /b, /c and 2 more)": a cold apply's list of changed files fits no line. */
function shortLists(line: string): string {
  return line.replace(/\(([^()]*)\)/g, (all, inner: string) => {
    const items = inner.split(", ");
    return items.length > 3 && items.every((i) => i.startsWith("/")) ? `(${items.slice(0, 3).join(", ")} and ${items.length - 3} more)` : all;
  });
}

/** Splits "first line: rest" into a one-line what and the message under it. */
function split(text: string): { what: string; message: string } {
  const { what, message } = splitLines(text);
  return { what: shortLists(what), message };
}

function splitLines(text: string): { what: string; message: string } {
  const [first, ...more] = text.trim().split("\n");
  // "postfix check refused the new configuration (...); nothing was changed:" is followed by the checker's words.
  const m = /^(.*?):\s*$/.exec(first);
  if (m) return { what: m[1], message: more.join("\n").trim() };
  const colon = first.indexOf(": ");
  if (colon > 0 && !more.length) return { what: first.slice(0, colon), message: first.slice(colon + 2) };
  return { what: first, message: more.join("\n").trim() };
}

/** A failed host or hook as a person needs it at the end of the output. */
export function describeFailure(err: Error, ctx: FailureContext): Failure {
  const stack = ctx.stackFile;
  if (!ctx.host) {
    return { who: ctx.pod, role: "around the apply", ...split(err.message), next: `podkit apply ${stack}` };
  }
  const who = whose(ctx.pod, ctx.host);
  if (err instanceof ConvergeError) {
    const text = err.message.startsWith(`${err.host}/${err.role}: `) ? err.message.slice(err.host.length + err.role.length + 3) : err.message;
    const refused = /refused the new configuration/.test(text);
    const role = err.role.includes(",") ? err.role.split(",")[0] : err.role;
    return {
      who, role: err.role, ...split(text),
      next: refused
        ? `podkit diff ${stack} --host ${ctx.host} --role ${role}   (the refused change; fix the stack, then podkit apply ${stack} --host ${ctx.host})`
        : `podkit apply ${stack} --host ${ctx.host}   (after fixing what the message names)`,
    };
  }
  const text = err.message.startsWith(`${ctx.host}: `) ? err.message.slice(ctx.host.length + 2) : err.message;
  if (err instanceof HostKeyMismatch) {
    return { who, role: "connect", what: "the host key does not match the pinned one", message: text, next: ctx.lab ? "podkit lab status" : `podkit validate ${stack}   (the pin is hosts.${ctx.host} in ${stack})` };
  }
  if (err instanceof EdgeFailed) {
    return { who, role: "edge", what: `not converged: its edge ${err.edge} failed`, message: text, next: `podkit apply ${stack} --host ${err.edge} --host ${ctx.host}   (once ${err.edge}'s failure is fixed)` };
  }
  if (err instanceof HostBusy) {
    return { who, role: "lock", what: "another podkit run holds the host", message: text, next: `podkit apply ${stack} --host ${ctx.host}   (once that run has finished)` };
  }
  if (/cannot connect over SSH/.test(text)) {
    return { who, role: "connect", what: "cannot connect over SSH", message: text, next: ctx.lab ? "podkit lab status" : `ssh to the host and check sshd, then podkit apply ${stack} --host ${ctx.host}` };
  }
  // session.must's "installing a b failed (exit 100): apt's message".
  const step = /^(installing|gathering facts|creating users)\b/.exec(text)?.[1];
  const role = step === "installing" ? "packages" : step === "gathering facts" ? "facts" : step === "creating users" ? "users" : "apply";
  const m = /^(.*? failed(?: \(exit \d+\))?): ([\s\S]*)$/.exec(text);
  return { who, role, what: m ? m[1] : text.split("\n")[0], message: m ? m[2].trim() : text.split("\n").slice(1).join("\n"), next: `podkit apply ${stack} --host ${ctx.host}` };
}

/** The failure block: a header line per failure, the message indented under it, the next command. */
export function failureLines(failures: Failure[]): string[] {
  return failures.flatMap((f) => [
    `FAILED ${f.who} ${f.role}: ${f.what}`,
    ...(f.message ? f.message.split("\n").map((l) => `    ${l}`) : []),
    `  next: ${f.next}`,
  ]);
}
