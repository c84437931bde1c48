// What `podkit check` prints: one line per check, grouped, ok / warn / FAIL
// first; under every warn and fail what it means and the fix. --json gives the
// same results to machines (schema: docs/check.md). The exit code gates a
// deploy or a cron job: 1 on any fail (and on a warn with --strict).
import { EXIT } from "../cli/exit";
import { type CheckResult, GROUPS, type Status } from "./result";

export interface CheckReport {
  pod: string;
  stack: string;
  /** The hosts checked (all of the stack's, or the one --host named). */
  hosts: string[];
  startedAt: string;
  seconds: number;
  /** The worst status found: fail, warn, or ok. */
  status: "ok" | "warn" | "fail";
  counts: Record<Status, number>;
  exitCode: number;
  checks: CheckResult[];
}

export function exitCode(results: CheckResult[], strict: boolean): number {
  if (results.some((r) => r.status === "fail")) return EXIT.FAILED;
  if (strict && results.some((r) => r.status === "warn")) return EXIT.FAILED;
  return EXIT.OK;
}

export function buildReport(a: { pod: string; stack: string; hosts: string[]; startedAt: Date; seconds: number; results: CheckResult[]; strict: boolean }): CheckReport {
  const counts: Record<Status, number> = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const r of a.results) counts[r.status]++;
  // Groups in their order, and within a group the order the checks were made in.
  const checks = GROUPS.flatMap((g) => a.results.filter((r) => r.group === g));
  return {
    pod: a.pod, stack: a.stack, hosts: a.hosts, startedAt: a.startedAt.toISOString(), seconds: Math.round(a.seconds * 10) / 10,
    status: counts.fail ? "fail" : counts.warn ? "warn" : "ok",
    counts, exitCode: exitCode(a.results, a.strict), checks,
  };
}

const LABEL: Record<Status, string> = { ok: "ok  ", warn: "warn", fail: "FAIL", skip: "skip" };
type Paint = (text: string, how: "red" | "green" | "yellow" | "bold" | "dim") => string;

/** The human lines; `paint` colours them on a terminal. `hostNames` prefixes host-bound lines when the pod has several hosts. */
export function formatReport(report: CheckReport, opts: { paint?: Paint; hostNames?: boolean } = {}): string[] {
  const paint: Paint = opts.paint ?? ((t) => t);
  const colour = { ok: "green", warn: "yellow", fail: "red", skip: "dim" } as const;
  const lines: string[] = [];
  for (const g of GROUPS) {
    const inGroup = report.checks.filter((c) => c.group === g);
    if (!inGroup.length) continue;
    lines.push(paint(g, "bold"));
    for (const c of inGroup) {
      const who = opts.hostNames && c.host ? `${c.host}: ` : "";
      lines.push(`  ${paint(LABEL[c.status], colour[c.status])}  ${who}${c.summary}`);
      if (c.status === "warn" || c.status === "fail") {
        lines.push(`        means: ${c.meaning}`);
        lines.push(`        fix:   ${c.fix}`);
      }
    }
  }
  const { ok, warn, fail, skip } = report.counts;
  const verdict = fail ? paint("FAILED", "red") : warn ? paint("warnings", "yellow") : paint("all ok", "green");
  lines.push(`${report.pod}: ${verdict}: ${ok} ok, ${warn} warn, ${fail} fail${skip ? `, ${skip} skipped` : ""} in ${report.seconds.toFixed(1)}s`);
  return lines;
}
