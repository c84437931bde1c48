// Benchmark: cold apply, no-op apply and pod memory (per systemd unit) for each
// Debian release podkit supports, measured on lab host b in one run, so the
// figures compare; then inbound mail throughput and delivery latency with the
// filter on, with 1, 4 and 8 parallel senders, on both lab pods; with --seats, then the
// workshop's scale: 1, 4 and 8 seat pods applied side by side by one `podkit apply`, cold and no-op.
// Prints medians (this machine is noisy).
//   npm run bench                 (needs root; brings the lab up if it is down)
//   npm run bench -- trixie       (one release only)
//   npm run bench -- --seats      (everything, then the seats' scale figures: ~15 min more)
//   npm run bench -- --seats-only (the seats' scale figures alone)
//   npm run bench -- --mail-only  (inbound mail throughput and latency alone, on the pods as they are)
//   npm run bench -- --crypt-only (IMAP fetch of 1,000 messages, encrypted at rest and not, alone)
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { onHost } from "../test/lab/helpers";
import { burst, percentile, watchInbox } from "../test/lab/load";
import { imapClient } from "../test/lab/mailclients";
import { acceptInvite, invite, memberStack } from "../test/lab/members";
import { apply, ensurePods, type LabPod, type Pods } from "../test/lab/pods";

const ROOT = join(__dirname, "..");
const podkit = (...args: string[]) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(ROOT, "bin/podkit.js"), ...args], { cwd: ROOT, encoding: "utf8" });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`podkit ${args.join(" ")} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return { seconds, out: r.stdout + r.stderr };
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** The machine's busy CPU seconds so far (all cores: user, nice, system, irq, softirq), from /proc/stat. */
const busyCpu = () => {
  const [, user, nice, system, , , irq, softirq] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
  return (user + nice + system + irq + softirq) / 100; // USER_HZ: 100 on Linux
};
/** `f` run, with the CPU seconds the whole machine (podkit, the lab hosts, the package cache) spent meanwhile. */
const withCpu = <T>(f: () => T): { result: T; cpu: number } => {
  const before = busyCpu();
  const result = f();
  return { result, cpu: busyCpu() - before };
};
const onB = (cmd: string) => execFileSync(process.execPath, [join(ROOT, "bin/podkit.js"), "lab", "ssh", "b", cmd], { cwd: ROOT, encoding: "utf8" });

interface Figures {
  cold: number;
  install: number;
  noop: number[];
  pss: number;
  top: [string, number][];
}

/** One release: host b recreated empty on it, the whole pod applied cold, then no-op applies, then memory. */
function benchRelease(release: string): Figures {
  podkit("lab", "recreate", "b", "--release", release);
  const cold = podkit("apply", "stacks/lab-b.yaml");
  const install = Number(cold.out.match(/installed \d+ package\(s\) in ([\d.]+)s/)?.[1] ?? NaN);
  // The pod settles first: after its first start rspamd's hs_helper compiles its pattern
  // databases for a minute or so, on both cores of this machine, which any command would feel.
  // And Postfix's processes started by the apply's health checks exit after max_idle (100 s).
  spawnSync("sleep", ["110"]);
  // No-op: the same stack again, whole command, several times.
  const runs = Array.from({ length: 9 }, () => podkit("apply", "stacks/lab-b.yaml"));
  for (const r of runs) if (!/no changes/.test(r.out)) throw new Error(`a no-op apply changed something:\n${r.out}`);
  // Memory: proportional set size of every process on the host, summed per systemd unit
  // (its cgroup); three samples 5 s apart, the median. The measuring itself is left
  // out: this SSH connection's two sshd-session processes and everything in its
  // shell's session (the idle pod has sshd's listener, not an admin logged in).
  const pss = () => {
    const out = onB(`skip=" "; p=$$; while [ "$p" -gt 1 ] && [ "$(cat /proc/$p/comm)" != sshd ]; do skip="$skip$p "; p=$(awk '/^PPid:/{print $2}' /proc/$p/status); done; me=$(cut -d' ' -f6 /proc/$$/stat); `
      + `for p in /proc/[0-9]*; do n=\${p#/proc/}; case "$skip" in *" $n "*) continue;; esac; [ "$(cut -d' ' -f6 $p/stat 2>/dev/null)" = "$me" ] && continue; `
      + `u=$(grep -o '[^/]*\\.\\(service\\|scope\\)$' $p/cgroup 2>/dev/null | head -n1); v=$(awk '/^Pss:/{print $2}' $p/smaps_rollup 2>/dev/null); [ -n "$v" ] && echo "$v \${u:-?}"; done`);
    const by = new Map<string, number>();
    for (const line of out.trim().split("\n")) {
      const [kb, unit] = line.split(" ");
      by.set(unit, (by.get(unit) ?? 0) + Number(kb) / 1024);
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
  return { cold: cold.seconds, install, noop: runs.map((r) => r.seconds), pss: median(totals), top: [...mid].sort((a, b) => b[1] - a[1]).filter(([, mb]) => mb >= 0.5) };
}

function report(release: string, f: Figures): void {
  const n = f.noop;
  console.log(`${release}:`);
  console.log(`  cold apply         ${f.cold.toFixed(1)} s  (of which package installation ${f.install.toFixed(1)} s: the floor; podkit's own work ${(f.cold - f.install).toFixed(1)} s)`);
  console.log(`  no-op apply        median ${median(n).toFixed(2)} s  (min ${Math.min(...n).toFixed(2)}, max ${Math.max(...n).toFixed(2)}, ${n.length} runs, whole command)`);
  console.log(`  cold / no-op       ${(f.cold / median(n)).toFixed(0)}x`);
  console.log(`  pod memory (PSS)   median ${f.pss.toFixed(1)} MB of the whole host`);
  for (const [unit, mb] of f.top) console.log(`    ${mb.toFixed(1).padStart(6)} MB  ${unit}`);
}

/**
 * Inbound mail at `pod`'s MX, filter on: messages per second accepted with 1, 4 and 8
 * parallel senders (one connection per message), how long each SMTP transaction
 * took, the filter's scan time (rspamd's log) as a share of it, and delivery latency
 * (accepted -> visible over IMAP), median and 95th percentile.
 */
async function throughput(pods: Pods, name: "a" | "b", user: string, secret: string): Promise<void> {
  const pod: LabPod = pods[name];
  console.log(`\ninbound mail at ${pod.mx} (${pods.lab.hosts[name].release ?? ""}), filter on:`);
  for (const [senders, each] of [[1, 20], [4, 10], [8, 10]] as const) {
    const tag = `bench-${name}-${senders}-${Date.now().toString(36)}`;
    const since = (await onHost(pods.lab, name, "date +%s")).stdout.trim();
    // Watching before the first message goes: a message's latency ends when it became visible.
    const inbox = await watchInbox(pods, pod, user, pod.password(secret), tag);
    const started = Date.now();
    const sent = await burst(pods, pod, { senders, each, to: user, tag });
    const seconds = (Date.now() - started) / 1000;
    const ok = sent.filter((x) => x.code === 250);
    const { seenAt } = await inbox.until(ok.map((x) => x.subject));
    const latency = ok.filter((x) => seenAt.has(x.subject)).map((x) => seenAt.get(x.subject)! - x.at);
    const scans = (await onHost(pods.lab, name, `journalctl -u rspamd --since @${since} -o cat --no-pager | grep -o 'time: [0-9.]*ms' | grep -o '[0-9.]*'`)).stdout.trim().split("\n").filter(Boolean).map(Number);
    const smtp = percentile(sent.map((x) => x.ms), 50);
    const scan = scans.length ? percentile(scans, 50) : NaN;
    console.log(`  ${String(senders).padStart(2)} sender(s): ${ok.length}/${sent.length} accepted, ${(ok.length / seconds).toFixed(1)} msg/s; SMTP transaction median ${smtp} ms (filter scan median ${scan.toFixed(0)} ms, ${((scan / smtp) * 100).toFixed(0)}%); accepted -> IMAP median ${percentile(latency, 50)} ms, p95 ${percentile(latency, 95)} ms`);
  }
}

const FETCHED = 1000;

/**
 * Mail encrypted at rest (issue 17): IMAP FETCH of every message of a 1,000-message
 * folder, whole messages, as a client syncing a folder does, for a member-owned
 * account (mail_crypt, her key unlocked by her login) and an admin-set one (not
 * encrypted) on the same pod, median of three; the ratio is the cost of encryption.
 * The messages are saved on the host with doveadm (the same plugin path as delivery).
 */
async function encryptedFetch(pods: Pods): Promise<void> {
  const { stack } = memberStack();
  const applied = await apply(stack);
  if (applied.report.exitCode) throw new Error(`podkit apply ${stack} failed:\n${applied.stderr}`);
  const carolPassword = `bench-${randomBytes(12).toString("base64url")}`;
  const { link } = await invite(stack, "carol@a.test", ...(await memberHasPassword(pods, "carol@a.test") ? ["--reset"] : []));
  await acceptInvite(pods, link, carolPassword);
  const accounts = [
    { who: "carol@a.test (encrypted)", user: "carol@a.test", password: carolPassword },
    { who: "alice@a.test (not encrypted)", user: "alice@a.test", password: pods.a.password("alice-password") },
  ];
  const folder = `Bench-${Date.now().toString(36)}`;
  const medians: number[] = [];
  console.log(`
IMAP fetch of ${FETCHED} whole messages (about 4 KB each) at ${pods.a.mx}, median of 3:`);
  for (const a of accounts) {
    const saved = await onHost(pods.lab, "a", `doveadm mailbox create -u ${a.user} ${folder} && for i in $(seq ${FETCHED}); do
      { printf 'From: bench@b.test\nTo: ${a.user}\nSubject: bench %d\nMessage-ID: <bench-%d@b.test>\n\n' $i $i; head -c 3000 /dev/urandom | base64; } | doveadm save -u ${a.user} -m ${folder} || exit 1; done`);
    if (saved.code !== 0) throw new Error(`saving ${FETCHED} messages for ${a.user} failed: ${saved.stderr}`);
    const runs: number[] = [];
    for (let k = 0; k < 3; k++) {
      const client = await imapClient(pods, pods.a, a.user, a.password);
      const lock = await client.getMailboxLock(folder);
      const t = process.hrtime.bigint();
      let n = 0;
      for await (const msg of client.fetch("1:*", { source: true })) if (msg.source) n++;
      runs.push(Number(process.hrtime.bigint() - t) / 1e6);
      lock.release();
      await client.logout();
      if (n !== FETCHED) throw new Error(`${a.user}: fetched ${n} of ${FETCHED} messages`);
    }
    medians.push(median(runs));
    console.log(`  ${a.who.padEnd(30)} ${median(runs).toFixed(0).padStart(6)} ms (${(FETCHED / (median(runs) / 1000)).toFixed(0)} msg/s)`);
    await onHost(pods.lab, "a", `doveadm mailbox delete -u ${a.user} -s ${folder}`);
  }
  console.log(`  encrypted / not encrypted: ${(medians[0] / medians[1]).toFixed(2)}x`);
  await apply("stacks/lab-a.yaml");
}

async function memberHasPassword(pods: Pods, address: string): Promise<boolean> {
  return (await onHost(pods.lab, "a", `grep -q '^${address}:' /var/lib/podkit/members/passwords`)).code === 0;
}

const SEAT_COUNTS = [1, 4, 8];

/**
 * The workshop's scale (issue 15): N seat pods applied side by side by one `podkit apply`
 * with N stack files, cold (every seat's host recreated empty first; the package cache
 * warm, as on a facilitator's machine after the first run) and no-op (median of five).
 * Every pod settles between runs: a new pod's rspamd compiles its databases for a minute.
 */
interface SeatFigures {
  n: number;
  cold: number;
  noop: number;
  /** CPU seconds the machine spent in the cold apply, and in the median no-op. */
  coldCpu: number;
  noopCpu: number;
}

function benchSeats(): SeatFigures[] {
  const max = Math.max(...SEAT_COUNTS);
  // All seats exist (and the cache holds their packages) before anything is measured.
  podkit("lab", "up", "--seats", String(max));
  const out: SeatFigures[] = [];
  for (const n of SEAT_COUNTS) {
    const stacks = Array.from({ length: n }, (_, i) => `stacks/seats/seat${i + 1}.yaml`);
    for (let k = 1; k <= n; k++) podkit("lab", "recreate", `seat${k}`);
    spawnSync("sleep", ["110"]); // the pods applied before settle; seats recreated are empty
    const cold = withCpu(() => podkit("apply", ...stacks));
    spawnSync("sleep", ["110"]);
    const runs = Array.from({ length: 5 }, () => withCpu(() => podkit("apply", ...stacks)));
    for (const r of runs) if (!/no changes/.test(r.result.out)) throw new Error(`a no-op apply of ${n} seats changed something:\n${r.result.out}`);
    const mid = runs.find((r) => r.result.seconds === median(runs.map((x) => x.result.seconds)))!;
    out.push({ n, cold: cold.result.seconds, noop: mid.result.seconds, coldCpu: cold.cpu, noopCpu: mid.cpu });
  }
  return out;
}

function reportSeats(figures: SeatFigures[]): void {
  const one = figures.find((f) => f.n === 1)!;
  const cores = cpus().length;
  console.log("\nworkshop seats, applied side by side by one podkit apply (package cache warm):");
  for (const f of figures) {
    console.log(`  ${String(f.n).padStart(2)} seat(s): cold ${f.cold.toFixed(1).padStart(6)} s (${(f.cold / one.cold).toFixed(2)}x one seat), no-op ${f.noop.toFixed(2).padStart(5)} s (${(f.noop / one.noop).toFixed(2)}x one seat)`);
    console.log(`             CPU: cold ${f.coldCpu.toFixed(1).padStart(6)} s, no-op ${f.noopCpu.toFixed(2)} s (the whole machine: podkit, the seats, the package cache)`);
  }
  // N seats need N times one seat's CPU, and this machine has `cores` of it: the time no
  // scheduling can beat is their CPU over the cores, next to one seat's time.
  console.log(`  on ${cores} core(s), ${figures.map((f) => `${f.n} seat(s) cannot take less than ${(f.coldCpu / cores).toFixed(0)} s cold (${(f.coldCpu / cores / one.cold).toFixed(2)}x one seat) and ${(f.noopCpu / cores).toFixed(2)} s no-op (${(f.noopCpu / cores / one.noop).toFixed(2)}x)`).join("; ")}`);
  const eight = figures.find((f) => f.n === 8);
  if (eight) {
    const cold = eight.cold / one.cold;
    const noop = eight.noop / one.noop;
    console.log(`  targets: 8 seats cold <= 3x one: ${cold.toFixed(2)}x, ${cold <= 3 ? "met" : "NOT met"}; no-op <= 1.5x one: ${noop.toFixed(2)}x, ${noop <= 1.5 ? "met" : "NOT met"}`);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const seats = args.includes("--seats") || args.includes("--seats-only");
  if (args.includes("--seats-only")) {
    console.log(`podkit benchmark: workshop seats (${SEAT_COUNTS.join(", ")})`);
    podkit("lab", "up");
    podkit("apply", "stacks/lab-a.yaml", "stacks/lab-b.yaml"); // the seats' checks and mail reach a and b
    reportSeats(benchSeats());
    return;
  }
  if (args.includes("--crypt-only")) {
    podkit("lab", "up");
    await encryptedFetch(await ensurePods(["a"]));
    return;
  }
  if (args.includes("--mail-only")) {
    podkit("lab", "up");
    podkit("apply", "stacks/lab-a.yaml", "stacks/lab-b.yaml");
    const pods = await ensurePods();
    await throughput(pods, "a", "alice@a.test", "alice-password");
    await throughput(pods, "b", "bob@b.test", "bob-password");
    return;
  }
  // Both releases podkit supports, on the same host in one run, so the figures compare.
  // Debian 12 last: host b ends on the release the default lab gives it.
  const named = args.filter((a) => !a.startsWith("--"));
  const releases = named.length ? named : ["trixie", "bookworm"];
  console.log(`podkit benchmark (lab host b, pod b.test; releases ${releases.join(", ")})\n`);
  podkit("lab", "up");
  podkit("apply", "stacks/lab-a.yaml"); // b's mail and chat federate with a
  const figures = releases.map((r) => [r, benchRelease(r)] as const);
  for (const [r, f] of figures) report(r, f);
  if (figures.length === 2) {
    const [[r1, f1], [r2, f2]] = figures;
    console.log(`\n${r1} / ${r2}: cold apply ${(f1.cold / f2.cold).toFixed(2)}, podkit's own work ${((f1.cold - f1.install) / (f2.cold - f2.install)).toFixed(2)}, no-op ${(median(f1.noop) / median(f2.noop)).toFixed(2)}, memory ${(f1.pss / f2.pss).toFixed(2)}`);
  }
  const pods = await ensurePods();
  await throughput(pods, "a", "alice@a.test", "alice-password");
  await throughput(pods, "b", "bob@b.test", "bob-password");
  await encryptedFetch(pods);
  if (seats) reportSeats(benchSeats());
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
