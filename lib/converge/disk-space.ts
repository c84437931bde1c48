// A full disk stops a change before it starts. Every file podkit writes is
// written whole (staged, then `install` to <path>.podkit-new beside it) and
// renamed into place, so a disk that fills up midway never leaves a truncated
// file live; but it would leave a role half changed and a confusing error
// ("No space left on device" from base64). So before staging, the script adds
// up what the change writes on each filesystem and refuses, naming the
// filesystem and the space needed, when that plus a margin is not free.
//
// What is written, and where:
//   - each new file, beside its destination (<path>.podkit-new, then renamed);
//   - each new file again in the staging dir, and copies of what the due
//     checkers read (measured on the host: du);
//   - a rollback copy of each file replaced (measured on the host).
import { dirname } from "node:path";
import { shellQuote as q } from "../ssh/shell";
import type { FileChange } from "./changes";

/** Kept free on each filesystem beyond what a change writes: the daemons' logs and queues go on. */
export const SPACE_MARGIN = 16 * 1024 * 1024;

/** The line a short filesystem prints: "podkit:space <mount point> <bytes needed> <bytes available>". */
export const SPACE_SHORT = "podkit:space";

/** The exit code of a script that refused for want of space. */
export const SPACE_EXIT = 6;

export interface SpacePlan {
  /** The staging root and the rollback root (both under podkit's state dir). */
  stage: string;
  rollback: string;
  /** Live paths the due checkers read: copied into the staging root. */
  reads: string[];
  margin?: number;
}

/** Bytes written beside each destination directory and into the staging root, known before connecting. */
export function bytesByDir(files: FileChange[], stage: string): Map<string, number> {
  const by = new Map<string, number>();
  const add = (dir: string, n: number) => by.set(dir, (by.get(dir) ?? 0) + n);
  for (const c of files) {
    const n = Buffer.byteLength(c.file.content);
    add(dirname(c.file.path), n);
    add(stage, n);
  }
  return by;
}

/**
 * Script lines that print SPACE_SHORT lines and exit SPACE_EXIT when a
 * filesystem lacks room. Paths that do not exist yet count on the nearest
 * existing directory above them.
 */
export function spaceCheckLines(files: FileChange[], plan: SpacePlan): string[] {
  const margin = plan.margin ?? SPACE_MARGIN;
  const known = [...bytesByDir(files, plan.stage)].map(([dir, n]) => `${n} ${dir}`);
  const measured = (paths: string[], at: string) => paths.map((p) => `[ ! -e ${q(p)} ] || echo "$(du -sb ${q(p)} | cut -f1) ${at}"`);
  return [
    "space_writes() {",
    ...(known.length ? [`  printf '%s\\n' ${known.map(q).join(" ")}`] : []),
    ...measured(plan.reads, plan.stage).map((l) => `  ${l}`),
    ...measured(files.map((c) => c.file.path), plan.rollback).map((l) => `  ${l}`),
    "  :",
    "}",
    "space_writes | while read -r bytes p; do",
    '  while [ ! -e "$p" ]; do p=$(dirname "$p"); done',
    '  echo "$bytes $(df -P -B1 "$p" | awk \'NR == 2 { print $4, $6 }\')"',
    `done | awk -v margin=${margin} '{ need[$3] += $1; avail[$3] = $2 } END { for (m in need) if (need[m] + margin > avail[m]) { printf "${SPACE_SHORT} %s %.0f %.0f\\n", m, need[m] + margin, avail[m]; short = 1 } exit short }' || exit ${SPACE_EXIT}`,
  ];
}

export interface SpaceShort {
  mount: string;
  need: number;
  avail: number;
}

export function parseSpaceShort(out: string): SpaceShort[] {
  return out.split("\n").flatMap((l) => {
    const m = new RegExp(`^${SPACE_SHORT} (\\S+) (\\d+) (\\d+)$`).exec(l.trim());
    return m ? [{ mount: m[1], need: Number(m[2]), avail: Number(m[3]) }] : [];
  });
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** What the admin reads: which filesystem, how much it needs and has, and what to do. */
export function describeSpaceShort(s: SpaceShort[], margin = SPACE_MARGIN): string {
  return s.map((x) => `not enough free space on ${x.mount}: this change needs ${mib(x.need)} free there ` +
    `(${mib(x.need - margin)} of staged, new and rollback copies, and ${mib(margin)} kept free), it has ${mib(x.avail)}`).join("; ") +
    "; nothing was changed. Free space there (apt-get clean, journalctl --vacuum-size=100M, old files) and apply again.";
}
