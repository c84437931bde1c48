// What one check found: the unit `podkit check` prints, puts in --json and
// judges the exit code by. Every warn and fail carries what it means for mail
// or chat and the exact fix, so a reader never has to guess the next step
// (Mail-in-a-Box's status checks read like that; STYLE.md).

export type Status = "ok" | "warn" | "fail" | "skip";

/** The groups, in the order they are printed. */
export const GROUPS = ["dns", "identity", "reachability", "reputation", "pod"] as const;
export type Group = (typeof GROUPS)[number];

export interface CheckResult {
  group: Group;
  /** Stable identity, e.g. "dns/txt/a.test/spf" or "pod/service/dovecot.service": tests and the timer's diff key on it. */
  id: string;
  /** Which host it is about, when it is about one (the stack's name for it). */
  host?: string;
  status: Status;
  /** What was found, in a few words ("MX 10 mx.a.test.", "dovecot.service inactive"). */
  summary: string;
  /** warn/fail: one sentence on what it means for mail or chat. */
  meaning?: string;
  /** warn/fail: the record to publish or the command to run. */
  fix?: string;
}

export const ok = (group: Group, id: string, summary: string, host?: string): CheckResult => ({ group, id, status: "ok", summary, ...(host ? { host } : {}) });

export function problem(status: "warn" | "fail", group: Group, id: string, summary: string, meaning: string, fix: string, host?: string): CheckResult {
  return { group, id, status, summary, meaning, fix, ...(host ? { host } : {}) };
}

export const skip = (group: Group, id: string, summary: string, host?: string): CheckResult => ({ group, id, status: "skip", summary, ...(host ? { host } : {}) });

/** How long a check may take at most; each network check uses its own short timeout within this. */
export async function withTimeout<T>(ms: number, what: string, body: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  try {
    return await Promise.race([body(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
