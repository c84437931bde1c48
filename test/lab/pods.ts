// The two lab pods, a.test and b.test, applied with `podkit apply` as a user
// would; what tests need to talk to them like real clients do.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { SecretStore } from "../../lib/stack/secrets";
import { readLabState, type LabState } from "../../lib/lab/state";
import { ensureLab, podkit, REPO } from "./helpers";

export interface LabPod {
  stack: string;
  domain: string;
  /** Address of the pod's host, and its name as certificates carry it. */
  ip: string;
  mx: string;
  password(secret: string): string;
}

export interface Pods {
  lab: LabState;
  a: LabPod;
  b: LabPod;
  /** The lab CAs, for clients' `ca:` option. */
  ca: Buffer;
  /** A resolver asking the lab DNS, for clients that look names up themselves (mailauth). */
  resolver: Resolver;
}

const TIMINGS = path.join(tmpdir(), "podkit-lab-apply-timings.json");

/** Applies a stack, failing loudly; returns the parsed --json report and how long it took. */
export async function apply(stack: string, ...extra: string[]): Promise<{ changes: number; seconds: number; report: any; stderr: string }> {
  const t = Date.now();
  const r = await podkit("apply", stack, "--json", ...extra);
  const seconds = (Date.now() - t) / 1000;
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`podkit apply ${stack} printed no report (exit ${r.code}):\n${r.stderr}`);
  }
  if (r.code !== 0) Object.assign(report, { exitCode: r.code });
  return { changes: report.changes, seconds, report, stderr: r.stderr };
}

/**
 * The lab, with both pods applied (or only those named: a test about one pod
 * leaves the other alone). The first call in a lab's life that applies both
 * records the cold apply times.
 */
export async function ensurePods(only: ("a" | "b")[] = ["a", "b"]): Promise<Pods> {
  const lab = await ensureLab();
  const results = await Promise.all(only.map((n) => apply(`stacks/lab-${n}.yaml`)));
  for (const [i, r] of results.entries()) {
    if (r.report.exitCode) throw new Error(`podkit apply lab-${only[i]} failed:\n${r.stderr}`);
  }
  const known = existsSync(TIMINGS) ? JSON.parse(readFileSync(TIMINGS, "utf8")) : null;
  // Only a first apply that changed something is a cold apply worth reporting.
  if (only.length === 2 && (!known || known.upAt !== lab.upAt) && results.some((r) => r.changes > 0)) {
    writeFileSync(TIMINGS, JSON.stringify({ upAt: lab.upAt, first: results.map((r) => ({ seconds: r.seconds, changes: r.changes })) }));
  }
  const pod = (name: "a" | "b"): LabPod => {
    const stack = `stacks/lab-${name}.yaml`;
    const secrets = new SecretStore(path.join(REPO, `stacks/lab-${name}.secrets.yaml`));
    return {
      stack, domain: `${name}.test`, ip: lab.hosts[name].address, mx: `mx.${name}.test`,
      password: (secret) => secrets.get(secret) ?? (() => { throw new Error(`no secret ${secret}`); })(),
    };
  };
  const resolver = new Resolver();
  resolver.setServers([lab.resolver]);
  return { lab, a: pod("a"), b: pod("b"), ca: readFileSync(lab.acme.trustBundlePath), resolver };
}

/** Workshop seat K's pod (`podkit lab up --seats N`), as clients reach it: its passwords from stacks/seats/seatK.secrets.yaml. */
export function seatLabPod(lab: LabState, k: number): LabPod {
  const stack = `stacks/seats/seat${k}.yaml`;
  const secrets = new SecretStore(path.join(REPO, `stacks/seats/seat${k}.secrets.yaml`));
  const host = lab.hosts[`seat${k}`];
  if (!host) throw new Error(`the lab has no seat ${k}: \`podkit lab up --seats ${k}\` first`);
  return {
    stack, domain: `seat${k}.test`, ip: host.address, mx: `mx.seat${k}.test`,
    password: (secret) => secrets.get(secret) ?? (() => { throw new Error(`no secret ${secret} in ${secrets.file}`); })(),
  };
}

/** Cold apply figures recorded by the first ensurePods() of this lab. */
export function firstApplyTimings(): { first: { seconds: number; changes: number }[] } | null {
  const known = existsSync(TIMINGS) ? JSON.parse(readFileSync(TIMINGS, "utf8")) : null;
  // Figures from an earlier lab say nothing about this one.
  return known && known.upAt === readLabState()?.upAt ? known : null;
}
