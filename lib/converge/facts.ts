// Everything converge needs to know about a host, in one round-trip: hashes
// and modes of all managed files, installed package versions, unit states.
// One script, a handful of processes, whatever the number of roles.
import { shellQuote as q } from "../ssh/shell";
import { HOST_FACTS_SCRIPT, parseHostFacts } from "./host-facts";
import type { Facts } from "./types";

/** Where commitScript notes, per role, the paths it moved in until their handlers and reloads are done. */
export const PENDING_DIR = "/var/lib/podkit/pending";

export interface FactQuery {
  files: string[];
  dirs: string[];
  packages: string[];
  units: string[];
  users?: string[];
  groups?: string[];
  /** Handler guards: name -> shell test. */
  guards?: Record<string, string>;
}

/** `host`: also what the host is (./host-facts.ts), in the same round-trip. */
/** Words for a shell command line, each quoted. */
const list = (xs: string[]) => xs.map(q).join(" ");

export function factsScript(query: FactQuery, opts: { host?: boolean } = {}): string {
  return [
    "set -u",
    "export LC_ALL=C",
    // Files: one stat and one sha256sum over all of them; missing files print nothing.
    // The list goes through a file mktemp makes (a fixed or PID-derived name in /tmp
    // would let another user plant a link there for root to write through).
    'T=$(mktemp)',
    query.files.length ? `for f in ${list(query.files)}; do [ -f "$f" ] && printf '%s\\0' "$f"; done > "$T"` : ': > "$T"',
    `xargs -0r stat -c 'S %a %U %G %n' < "$T"`,
    `xargs -0r sha256sum < "$T" | sed 's/^/H /'`,
    'rm -f "$T"',
    ...(query.dirs.length ? [`for d in ${list(query.dirs)}; do [ -d "$d" ] && printf '%s\\0' "$d"; done | xargs -0r stat -c 'D %a %U %G %n'`] : []),
    ...(query.packages.length
      ? [`dpkg-query -W -f='P \${Package} \${db:Status-Status} \${Version}\\n' ${list(query.packages)} 2>/dev/null`]
      : []),
    ...(query.users ?? []).map((u) => `getent passwd ${q(u)} >/dev/null && printf 'W %s\\n' ${q(u)}`),
    ...(query.groups ?? []).map((g) => `getent group ${q(g)} >/dev/null && printf 'R %s\\n' ${q(g)}`),
    ...Object.entries(query.guards ?? {}).map(([name, test]) => `( ${test} ) >/dev/null 2>&1 || printf 'G %s\\n' ${q(name)}`),
    ...unitLines(query.units),
    ...(opts.host ? HOST_FACTS_SCRIPT : []),
    // Changes an interrupted apply moved in but never reloaded (./scripts.ts, commitScript): "N <role> <path>".
    `for f in ${PENDING_DIR}/*; do [ -f "$f" ] && sed "s|^|N \${f##*/} |" "$f"; done 2>/dev/null`,
    "true",
  ].join("\n");
}

/**
 * Unit states as lines "UId <unit>", then "UActiveState <state>" and/or
 * "UUnitFileState <state>". Two calls to systemd whatever the number of units:
 * list-units for what runs (a unit systemd has not loaded is not running) and
 * list-unit-files for what is enabled. `systemctl show` would be one call, but
 * PID 1 then sends every property of every unit: ~90 ms on a pod's twenty units,
 * against ~25 ms for these two, on each no-op apply of each host.
 * list-unit-files knows templates, not their instances (wg-quick@wg-podkit.service):
 * an instance is asked with show.
 */
function unitLines(units: string[]): string[] {
  const instance = (u: string) => /@[^.]+\./.test(u);
  const plain = units.filter((u) => !instance(u));
  const instances = units.filter(instance);
  return [
    ...(plain.length ? [
      `systemctl list-units --all --plain --no-legend --full ${list(plain)} 2>/dev/null | awk '{ print "UId " $1; print "UActiveState " $3 }'`,
      `systemctl list-unit-files --plain --no-legend --full ${list(plain)} 2>/dev/null | awk '{ print "UId " $1; print "UUnitFileState " $2 }'`,
    ] : []),
    ...(instances.length ? [`systemctl show -p Id -p ActiveState -p UnitFileState ${list(instances)} 2>/dev/null | sed -n 's/^\\(Id\\|ActiveState\\|UnitFileState\\)=/U\\1 /p'`] : []),
  ];
}

export function parseFacts(output: string, query: FactQuery): Facts {
  const facts: Facts = { files: {}, dirs: {}, packages: {}, units: {}, dueHandlers: [], users: [] };
  const hashes = new Map<string, string>();
  const stats = new Map<string, { mode: number; owner: string; group: string }>();
  let unit: string | undefined;
  for (const line of output.split("\n")) {
    const kind = line.slice(0, 2);
    if (kind === "S " || kind === "D ") {
      const m = /^[SD] (\d+) (\S+) (\S+) (.*)$/.exec(line);
      if (!m) continue;
      const st = { mode: parseInt(m[1], 8), owner: m[2], group: m[3] };
      if (kind === "S ") stats.set(m[4], st);
      else facts.dirs[m[4]] = st;
    } else if (kind === "H ") {
      const m = /^H ([0-9a-f]{64}) {2}(.*)$/.exec(line);
      if (m) hashes.set(m[2], m[1]);
    } else if (kind === "P ") {
      const [, pkg, status, version] = line.split(" ");
      if (status === "installed") facts.packages[pkg] = version;
    } else if (kind === "W ") {
      facts.users.push(line.slice(2));
    } else if (kind === "R ") {
      (facts.groups ??= []).push(line.slice(2));
    } else if (kind === "N ") {
      const m = /^N (\S+) (.+)$/.exec(line);
      if (m) (facts.pending ??= {})[m[1]] = [...(facts.pending?.[m[1]] ?? []), m[2]];
    } else if (kind === "G ") {
      facts.dueHandlers.push(line.slice(2));
    } else if (line.startsWith("UId ")) {
      unit = line.slice(4);
      facts.units[unit] ??= { active: "", enabled: "" };
    } else if (line.startsWith("UActiveState ") && unit) {
      facts.units[unit].active = line.slice(13);
    } else if (line.startsWith("UUnitFileState ") && unit) {
      facts.units[unit].enabled = line.slice(15);
    }
  }
  for (const f of query.files) {
    const st = stats.get(f);
    const sha256 = hashes.get(f);
    facts.files[f] = st && sha256 ? { ...st, sha256 } : undefined;
  }
  facts.host = parseHostFacts(output);
  return facts;
}
