// Benchmark: cold apply, no-op apply and pod memory, measured on lab host b in
// one run, so the figures compare. Prints medians (this machine is noisy).
//   npm run bench            (needs root; brings the lab up if it is down)
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(__dirname, "..");
const podkit = (...args: string[]) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(ROOT, "bin/podkit.js"), ...args], { cwd: ROOT, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`podkit ${args.join(" ")} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return { seconds, out: r.stdout + r.stderr };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const onB = (cmd: string) => execFileSync(process.execPath, [join(ROOT, "bin/podkit.js"), "lab", "ssh", "b", cmd], { cwd: ROOT, encoding: "utf8" });

function main(): void {
  console.log("podkit benchmark (lab host b, pod b.test)\n");
  podkit("lab", "up");
  podkit("apply", "stacks/lab-a.yaml"); // b's mail and chat federate with a

  // Cold: a new empty host, then the whole pod (base, tls, web, mail, xmpp).
  podkit("lab", "recreate", "b");
  const cold = podkit("apply", "stacks/lab-b.yaml");
  const install = Number(cold.out.match(/installed \d+ package\(s\) in ([\d.]+)s/)?.[1] ?? NaN);
  console.log(`cold apply           ${cold.seconds.toFixed(1)} s  (of which package installation ${install.toFixed(1)} s: the floor; podkit's own work ${(cold.seconds - install).toFixed(1)} s)`);

  // No-op: the same stack again, whole command, several times.
  const runs = Array.from({ length: 9 }, () => podkit("apply", "stacks/lab-b.yaml"));
  for (const r of runs) if (!/no changes/.test(r.out)) throw new Error(`a no-op apply changed something:\n${r.out}`);
  const s = runs.map((r) => r.seconds);
  console.log(`no-op apply          median ${median(s).toFixed(2)} s  (min ${Math.min(...s).toFixed(2)}, max ${Math.max(...s).toFixed(2)}, ${s.length} runs, whole command)`);
  console.log(`cold / no-op         ${(cold.seconds / median(s)).toFixed(0)}x`);

  // Memory: proportional set size of every process on the host, after a minute idle would be
  // better; we take three samples 5 s apart and report the median.
  const pss = () => {
    const out = onB(`for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null); v=$(awk '/^Pss:/{print $2}' $p/smaps_rollup 2>/dev/null); [ -n "$v" ] && echo "$v $c"; done`);
    const by = new Map<string, number>();
    for (const line of out.trim().split("\n")) {
      const [kb, comm] = line.split(" ");
      by.set(comm, (by.get(comm) ?? 0) + Number(kb) / 1024);
    }
    return by;
  };
  const samples: Map<string, number>[] = [];
  for (let i = 0; i < 3; i++) {
    samples.push(pss());
    if (i < 2) spawnSync("sleep", ["5"]);
  }
  const totals = samples.map((m) => [...m.values()].reduce((a, b) => a + b, 0));
  const mid = samples[totals.indexOf(median(totals))];
  console.log(`pod memory (PSS)     median ${median(totals).toFixed(1)} MB of the whole host (3 samples: ${totals.map((x) => x.toFixed(1)).join(", ")})`);
  for (const [comm, mb] of [...mid].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`    ${mb.toFixed(1).padStart(6)} MB  ${comm}`);
}

main();
