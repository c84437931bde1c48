// How far a package installation has got, from apt's own status lines
// (apt-get -o APT::Status-Fd, documented in apt's README.progress-reporting):
//   dlstatus:<file>:<percent>:Retrieving file 3 of 40
//   pmstatus:<package>[:<arch>]:<percent>:Unpacking postfix (amd64)
// apt's percentages and apt's names; podkit only counts and keeps the latest.
import { APT_UPDATING } from "./scripts";

export interface PackageProgress {
  /** Refreshing package lists, downloading, or unpacking and configuring. */
  phase: "lists" | "download" | "install";
  /** apt's own percentage for the phase, 0-100. */
  percent: number;
  /** The package apt works on now. */
  current?: string;
  /** Packages downloaded (download) or configured (install) so far. */
  done: number;
  /** Packages apt fetches in this run, once a download line said so ("Retrieving file 3 of 40"). */
  total?: number;
}

const STATUS = /^(dlstatus|pmstatus):(.+?):(\d+(?:\.\d+)?):(.*)$/;

/** Feeds apt's status output (in chunks, as it arrives) and calls `report` on every line that moved. */
export function aptProgress(report: (p: PackageProgress) => void): (chunk: string) => void {
  let rest = "";
  let total: number | undefined;
  let downloaded = 0;
  const configured = new Set<string>();
  const line = (text: string): void => {
    if (text === APT_UPDATING) return report({ phase: "lists", percent: 0, done: 0 });
    const m = STATUS.exec(text);
    if (!m) return;
    const [, kind, field, pct, what] = m;
    const percent = Math.max(0, Math.min(100, Number(pct)));
    if (kind === "dlstatus") {
      const of = /(\d+) of (\d+)/.exec(what);
      if (of) {
        downloaded = Math.max(downloaded, Number(of[1]) - 1);
        total = Number(of[2]);
      }
      return report({ phase: "download", percent, done: downloaded, ...(total ? { total } : {}) });
    }
    const pkg = field.split(":")[0];
    if (pkg === "dpkg-exec") return;
    if (/^(Installed|Configuring) /.test(what)) configured.add(pkg);
    report({ phase: "install", percent, current: pkg, done: configured.size, ...(total ? { total } : {}) });
  };
  return (chunk: string) => {
    const lines = (rest + chunk).split("\n");
    rest = lines.pop() ?? "";
    for (const l of lines) line(l.trim());
  };
}

/** "installing 42%, 12 of 40 packages, postfix": what one status line of a host says. */
export function describePackageProgress(p: PackageProgress): string {
  if (p.phase === "lists") return "refreshing package lists";
  const count = `${p.done}${p.total ? ` of ${p.total}` : ""} package(s)`;
  if (p.phase === "download") return `downloading ${Math.round(p.percent)}%, ${count}`;
  return `installing ${Math.round(p.percent)}%, ${count} configured${p.current ? `, now ${p.current}` : ""}`;
}
