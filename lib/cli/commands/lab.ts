// `podkit lab up [--seats N] | status | down | ssh <host>`: the local lab (lib/lab): throwaway
// Debian hosts a, b and backup (and workshop seats) on a bridge of their own, lab DNS (knot +
// unbound), a lab ACME CA and a shared package cache.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parse } from "../args";
import { Terminal } from "../terminal";
import { EXIT, UsageError } from "../exit";
import * as lab from "../../lab/lab";
import { pinnedByUserData } from "../../lab/cloud-init-seed";
import { labRecreate } from "../../lab/recreate";
import { sshArgs } from "../../lab/ssh";
import { releaseNamed } from "../../stack/releases";
import { EDGE_POD, REPO_ROOT, SEATS, parseSeats, seatPod } from "../../lab/config";
import * as path from "node:path";
import { type LabState, labHostRelease, readLabState } from "../../lab/state";

const HELP = `usage: podkit lab up [--seats N] [--edge] | status [--json] | down | ssh <host> [command...] | recreate <host> [--release <codename>]

  up      bring the lab up (as root): builds the base trees the first time (~1 min),
          then boots hosts a (Debian 13, trixie), b and backup (Debian 12, bookworm),
          lab DNS, the lab CA and the package cache (a few seconds) and prints each
          host's address, release and pinned SSH host key
          --seats N (1 to ${SEATS.max}): workshop seats too, hosts seat1..seatN (Debian 13,
          10.77.0.21 on), each with its own pod seatK.test from stacks/seats/seatK.yaml
          (written when missing, never overwritten) and random passwords in
          stacks/seats/seatK.secrets.yaml; then all N pods are applied by one
          \`podkit apply\`. On a lab that is up, the missing seats are added and
          seats above N keep running; \`down\` removes them all
          --edge: a hackspace box behind NAT and its public edge too: host box
          (Debian 13) on the lab's NAT'd segment 10.77.1.0/24 (it reaches out,
          nothing reaches in) and host edge (Debian 12, 10.77.0.14), the pod
          hs.test from stacks/lab-edge.yaml, applied then (on a lab that is up,
          they are added)
  status  each host's state and release (seats too), the lab's services and how long
          \`up\` took (exit 0 when all is up, 69 when the lab is down or broken)
  down    remove everything \`up\` made, seats included; safe to run again, and after a
          crash. Kept: the base trees, the package cache's files, the stack and secrets files
  ssh     log in to a lab host as root with its pinned host key
  recreate  destroy a host (a seat too) and boot a new, empty one at the same address with a
          new host key (state, known_hosts and pins follow): the rebuild drill.
          --release trixie|bookworm gives the new host another Debian release
          (moving a pod between releases); otherwise it keeps the old one.
          --user-data <file> boots it as a cloud server: cloud-init installed, and
          that first-boot user data (podkit's for a Hetzner server) in a NoCloud
          seed; the host key the user data gives is the new pin`;

const secs = (ms: number | null | undefined) => (ms == null ? "-" : `${(ms / 1000).toFixed(1)} s`);

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === "ssh") return ssh(rest);
  const args = parse(argv, { json: { type: "boolean" }, release: { type: "string" }, "user-data": { type: "string" }, seats: { type: "string" }, edge: { type: "boolean" } }, HELP);
  if (!args) return EXIT.OK;
  const recreate = args.positionals[0] === "recreate";
  if (recreate ? args.positionals.length !== 2 : args.positionals.length !== 1 || !["up", "status", "down"].includes(args.positionals[0])) {
    throw new UsageError(`name one of up, status, down, ssh, recreate\n\n${HELP}`);
  }
  if ((args.values.release !== undefined || args.values["user-data"] !== undefined) && !recreate) {
    throw new UsageError(`--release and --user-data go with recreate only\n\n${HELP}`);
  }
  let seats = 0;
  if (args.values.seats !== undefined) {
    if (args.positionals[0] !== "up") throw new UsageError(`--seats goes with up only\n\n${HELP}`);
    const n = parseSeats(args.values.seats);
    if (typeof n === "string") throw new UsageError(`${n}\n\n${HELP}`);
    seats = n;
  }
  const edge = Boolean(args.values.edge);
  if (edge && args.positionals[0] !== "up") throw new UsageError(`--edge goes with up only\n\n${HELP}`);
  if (process.getuid?.() !== 0) {
    console.error("podkit lab: the lab needs root (bridges, mounts, containers): run it with sudo or as root");
    return EXIT.USAGE;
  }
  // On a terminal, a long step (a base tree built) has a live line; elsewhere plain lines only.
  const term = new Terminal(process.stderr);
  const log = (line: string) => term.line(line);
  try {
    switch (args.positionals[0]) {
      case "up": {
        const state = await lab.labUp(log, (key, text) => term.setStatus(key, text), seats, edge).finally(() => term.finish());
        printUp(state);
        const seated = seats ? await applySeats(seats) : EXIT.OK;
        return seated === EXIT.OK && edge ? await applyEdge() : seated;
      }
      case "down":
        await lab.labDown(log);
        return EXIT.OK;
      case "recreate":
        await labRecreate(args.positionals[1], log, args.values.release, userData(args.values["user-data"]));
        return EXIT.OK;
      default:
        return await status(Boolean(args.values.json));
    }
  } catch (err) {
    if (err instanceof lab.LabError) {
      console.error(`podkit lab: ${(err as Error).message}`);
      return EXIT.UNAVAILABLE;
    }
    throw err;
  }
}

/**
 * The seats' pods, applied side by side by one `podkit apply` with their N stack files, as
 * `npm run lab` applies a.test and b.test: on a terminal one live line per host.
 */
async function applySeats(seats: number): Promise<number> {
  const stacks = Array.from({ length: seats }, (_, i) => path.relative(process.cwd(), path.join(REPO_ROOT, seatPod(i + 1).stack)));
  console.log(`applying the seats' pods: npx podkit apply ${stacks.join(" ")}`);
  const { run: apply } = require("./apply") as typeof import("./apply");
  const code = await apply(stacks);
  if (code === EXIT.OK) console.log(`seats ready: pods ${stacks.map((_, i) => seatPod(i + 1).zone).join(", ")}; accounts and passwords in ${path.relative(process.cwd(), path.join(REPO_ROOT, "stacks/seats")) || "."}/seatK.secrets.yaml`);
  return code;
}

/** The edge's pod (hs.test: edge and box), applied as `npm run lab` applies a.test and b.test. */
async function applyEdge(): Promise<number> {
  const stack = path.relative(process.cwd(), path.join(REPO_ROOT, EDGE_POD.stack));
  console.log(`applying the pod behind the edge: npx podkit apply ${stack}`);
  const { run: apply } = require("./apply") as typeof import("./apply");
  const code = await apply([stack]);
  if (code === EXIT.OK) console.log(`edge ready: pod ${EDGE_POD.zone} on host box behind NAT, public through host edge; passwords in ${stack.replace(/\.yaml$/, ".secrets.yaml")}`);
  return code;
}

/** The first-boot user data named by --user-data, read and checked before any host is touched. */
function userData(file: string | undefined): { userData: string } | undefined {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(`--user-data ${file}: ${(err as Error).message}`);
  }
  try {
    pinnedByUserData(text);
  } catch (err) {
    throw new UsageError(`--user-data ${file}: ${(err as Error).message}`);
  }
  return { userData: text };
}

function printUp(state: LabState): void {
  const t = state.timings;
  console.log("lab hosts (SSH as root with the lab key; host keys pinned, fingerprints made before boot):");
  for (const [name, h] of Object.entries(state.hosts)) {
    console.log(`  ${name.padEnd(7)} ${h.address.padEnd(11)} ${h.fqdn.padEnd(16)} ${labHostRelease(state, name).padEnd(9)} ${h.fingerprint}  (up in ${secs(t.hosts[name]?.totalMs)})`);
  }
  console.log(`resolver     ${state.resolver}  (lab zones: ${state.authoritative.zones.join(", ")}; other names forwarded)`);
  console.log(`ACME         ${state.acme.directory}  (trust: ${state.acme.trustBundlePath})`);
  console.log(`known_hosts  ${state.knownHostsPath}   ssh: npx podkit lab ssh a`);
  console.log(`lab up in ${secs(t.upMs)}${t.baseBuildMs ? ` (base tree built in ${secs(t.baseBuildMs)})` : " (base tree cached)"}`);
}

async function status(json: boolean): Promise<number> {
  const state = readLabState();
  if (!state) {
    const left = await lab.labLeftovers();
    if (json) console.log(JSON.stringify({ up: false, leftovers: left }));
    else console.log(left.length ? `lab: down, but these are left: ${left.join(", ")}; run \`podkit lab down\`` : "lab: down");
    return EXIT.UNAVAILABLE;
  }
  const [hosts, problems] = await Promise.all([lab.hostStatuses(state), lab.labProblems()]);
  const healthy = !problems.length && hosts.every((h) => h.ssh === "ok");
  if (json) {
    console.log(JSON.stringify({ up: healthy, problems, hosts, state }, null, 2));
    return healthy ? EXIT.OK : EXIT.UNAVAILABLE;
  }
  console.log(`lab: ${healthy ? "up" : "BROKEN"} since ${state.upAt}${problems.length ? ` (${problems.join("; ")})` : ""}`);
  for (const h of hosts) {
    const t = state.timings.hosts[h.name];
    const what = !h.running ? "stopped" : h.ssh === "ok" ? "running, ssh ok" : `running, ssh FAILS: ${h.ssh}`;
    console.log(`  ${h.name.padEnd(7)} ${h.address.padEnd(11)} ${debian(h.release).padEnd(21)} ${what.padEnd(16)} created ${secs(t?.createMs)}, booted to ssh ${secs(t?.bootMs)}, total ${secs(t?.totalMs)}`);
  }
  console.log(`resolver ${state.resolver}, ACME ${state.acme.directory}`);
  const cached = Object.entries(lab.baseBuildMs()).map(([r, ms]) => `${r} ${ms == null ? "not built" : `built in ${secs(ms)}`}`).join(", ");
  console.log(`timings: whole lab up ${secs(state.timings.upMs)}; base trees ${state.timings.baseBuildMs ? `built in ${secs(state.timings.baseBuildMs)} by this up` : `cached (${cached})`}`);
  return healthy ? EXIT.OK : EXIT.UNAVAILABLE;
}

/** "Debian 13 (trixie)": what a person recognises, with the codename podkit uses. */
function debian(codename: string): string {
  const release = releaseNamed(codename);
  return release ? `Debian ${release.version} (${codename})` : codename;
}

async function ssh(argv: string[]): Promise<number> {
  const [host, ...command] = argv;
  if (!host || host === "-h" || host === "--help") throw new UsageError(HELP);
  const state = readLabState();
  if (!state) {
    console.error("podkit lab: the lab is down: start it with `npx podkit lab up`");
    return EXIT.UNAVAILABLE;
  }
  if (!state.hosts[host]) throw new UsageError(`no lab host "${host}" (hosts: ${Object.keys(state.hosts).join(", ")})`);
  const r = spawnSync("ssh", [...sshArgs(state, host), ...command], { stdio: "inherit" });
  return r.status ?? EXIT.SOFTWARE;
}
