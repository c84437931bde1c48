// The pod's own state, as the host's check script (roles/check, podkit-check)
// judges it: `podkit check` runs `podkit-check state` over the pinned SSH
// session and reads its lines; the daily timer runs the same script. One
// script, so what the postmaster is mailed and what `podkit check` prints
// never disagree.
import { CHECK_PATHS } from "../../roles/check/role";
import { shellQuote } from "../ssh/shell";
import { type CheckResult, problem, type Status } from "./result";

export interface PodState {
  results: CheckResult[];
  /** Facts for other checks: "dkim-key" is the DKIM public key the pod signs with (base64 DER). */
  info: Record<string, string>;
}

const STATUSES: Status[] = ["ok", "warn", "fail", "skip"];

/** Lines "STATUS\tID\tSUMMARY\tMEANING\tFIX" and "info\tKEY\tVALUE"; anything else is reported, never dropped. */
export function parsePodState(output: string, host: string): PodState {
  const results: CheckResult[] = [];
  const info: Record<string, string> = {};
  for (const line of output.split("\n")) {
    if (!line.trim()) continue;
    const [status, id, summary, meaning, fix] = line.split("\t");
    if (status === "info" && id) {
      info[id] = summary ?? "";
    } else if (STATUSES.includes(status as Status) && id && summary) {
      const bad = status === "warn" || status === "fail";
      results.push({
        group: "pod", id: `pod/${id}`, host, status: status as Status, summary,
        ...(bad ? { meaning: meaning || "see the summary", fix: fix || "see the summary" } : {}),
      });
    } else {
      results.push(problem("warn", "pod", "pod/unreadable", `the check script printed a line podkit cannot read: ${line.slice(0, 120)}`,
        "a check may be missing from this report", "podkit apply <stack> installs the check script that matches this podkit", host));
    }
  }
  return { results, info };
}

export interface StateOptions {
  diskFailPercent?: number;
  certDays?: number;
  /** Mail servers to try port 25 on from the pod. */
  outbound?: string[];
}

/** The command `podkit check` runs on the host. */
export function stateCommand(opts: StateOptions): string {
  const args = [
    ...(opts.diskFailPercent !== undefined ? ["--disk-fail", String(opts.diskFailPercent)] : []),
    ...(opts.certDays !== undefined ? ["--cert-days", String(opts.certDays)] : []),
    ...(opts.outbound ?? []).flatMap((h) => ["--outbound", h]),
  ];
  return [CHECK_PATHS.script, "state", ...args].map((a, i) => (i < 2 ? a : shellQuote(a))).join(" ");
}

/** The script is missing: the host has not been applied with the check role yet. */
export function notApplied(host: string, file: string): CheckResult {
  return problem("fail", "pod", "pod/not-applied", `${CHECK_PATHS.script} is not on the host`,
    "the pod's own state cannot be checked, and nobody is told when it breaks", `podkit apply ${file} --host ${host}`, host);
}
