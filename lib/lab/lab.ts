// The lab's lifecycle: up, status, down. The order of `up`, and why:
//  1. refuse early (lock, already up, bridge or subnet taken) so a refusal changes nothing;
//  2. base tree, lab SSH key and lab CA: cached, built only the first time;
//  3. network (bridge, NAT, forward filter);
//  4. clones prepared and booted at once, in parallel, while pebble and the package cache
//     start (hosts boot in ~1 s; their first apt run comes later, from `podkit apply`);
//  5. state written as soon as host keys exist, because the pod zones read host addresses from it
//     (it names this checkout, whose stacks/lab-*.secrets.yaml the pod zones fill; with seats,
//     their stack files are written before, in stacks/seats/);
//  6. knot + unbound with the lab zone and the pod zones;
//  7. wait until every host answers SSH with its pinned key, then record timings.
// Any failure tears down what was made, so a failed `up` leaves the machine as it was.
// Seats asked for on a lab that is up are added to it (addSeats): their hosts, their zones in
// the lab DNS; nothing else of the running lab changes.
import * as fs from "node:fs";
import { Resolver } from "node:dns/promises";
import { baseBuildMs, ensureBase, type Status } from "./base";
import { ACME_DIRECTORY, CA_FILES, caDown, caUp, ensureLabCa, labRoots } from "./ca";
import { adoptLabSecrets, labCheckout } from "./checkout";
import { aptCacheDown, aptCacheUp } from "./apt-cache";
import { EDGE_HOSTS, LAB, type LabHost, PATHS, RUN_DIR, hostFqdn, labHosts, seatHost } from "./config";
import { dnsDown, dnsRefresh, dnsUp, labZone, podZones, reverseZone } from "./dns";
import { bootHost, hostProcesses, hostRunning, labMounts, prepareHost, removeHost, stopHost, trustInHost } from "./host";
import { LabError } from "./errors";
import { acquireLabLock } from "./lock";
import { networkConflict, networkDown, networkLeftovers, networkUp } from "./network";
import { daemonAlive, knownDaemons, stopDaemon, waitFor } from "./proc";
import { bareKey, fingerprint } from "../ssh/keys";
import { connectPinned } from "../ssh/connect";
import { ensureLabKey, knownHostsText, labTarget, waitForLabSsh } from "./ssh";
import { writeSeatStacks } from "./seats";
import { type LabState, labHostRelease, labHostsOf, labIsUp, readLabState, writeLabState } from "./state";

export { LabError };

type Log = (line: string) => void;

const DAEMONS = ["knot", "unbound", "pebble", "apt-cache"] as const;

/**
 * `status`: a live line for the long steps (the base trees), shown on a terminal only.
 * `seats`: workshop seats seat1..seatN besides the fixed hosts; on a lab that is up, the
 * missing ones are added (seats above N that run are kept).
 */
export async function labUp(log: Log, status?: Status, seats = 0, edge = false): Promise<LabState> {
  const started = Date.now();
  const release = acquireLabLock();
  try {
    if (labIsUp()) {
      const problems = await labProblems();
      if (!problems.length) {
        const state = readLabState()!;
        // The pods' secrets belong to the checkout that brought the lab up; this one needs the same.
        adoptLabSecrets(state, labCheckout(undefined, !!state.edge), log);
        if (seats > (state.seats ?? 0)) await addSeats(state, seats, log);
        if (edge && !state.edge) await addEdge(state, log);
        else if (!(seats > (state.seats ?? 0))) log(seats ? `lab: already up, with ${state.seats} seat(s)` : "lab: already up");
        return state;
      }
      throw new LabError(`the lab is partly up (${problems.join("; ")}); run \`podkit lab down\` first`);
    }
    const conflict = await networkConflict();
    if (conflict) throw new LabError(conflict);
    if (labMounts().length) throw new LabError(`lab overlay mounts are left from an earlier run (${labMounts().join(", ")}); run \`podkit lab down\` first`);

    const hosts = labHosts(seats, edge);
    const [builtMs, labPublicKey] = await Promise.all([ensureBase(log, hosts.map((h) => h.release), status), ensureLabKey(), ensureLabCa()]).then(([b, k]) => [b, k] as const);
    try {
      return await bringUp(log, started, builtMs, labPublicKey, seats, edge);
    } catch (err) {
      log(`lab: up failed, removing what it made (logs stay in ${PATHS.logs})`);
      await teardown(() => {});
      throw err;
    }
  } finally {
    release();
  }
}

/**
 * Clones and boots `hosts` in parallel, each on its own clock: clone (identity, host key),
 * boot, wait for SSH with the pinned key. `cloned` resolves with the host keys as soon as
 * every clone exists; `booted` when every host answers SSH.
 */
function startHosts(hosts: LabHost[], labPublicKey: string, timings: LabState["timings"]) {
  const prepared = hosts.map(async (h) => {
    const t = Date.now();
    const key = await prepareHost(h.name, h.address, labPublicKey, h.release);
    return { key, t, createMs: Date.now() - t };
  });
  const booted = Promise.all(
    hosts.map(async (h, i) => {
      const { key, t, createMs } = await prepared[i];
      bootHost(h.name);
      await waitForLabSsh(h.name, h.address, bareKey(key));
      timings.hosts[h.name] = { createMs, bootMs: Date.now() - t - createMs, totalMs: Date.now() - t };
    }),
  );
  booted.catch(() => {}); // awaited by the caller; keep an early failure from being "unhandled" meanwhile
  const cloned = Promise.all(prepared).then((clones) => Object.fromEntries(hosts.map((h, i) => [h.name, clones[i].key])));
  return { cloned, booted };
}

/** A host as the state file records it. */
function hostState(h: LabHost, key: string): LabState["hosts"][string] {
  return { address: h.address, fqdn: hostFqdn(h.name), hostKey: bareKey(key), fingerprint: fingerprint(key), sshPrivateKeyPath: PATHS.sshKey, user: "root", release: h.release };
}

async function bringUp(log: Log, started: number, builtMs: number | null, labPublicKey: string, seats: number, edge: boolean): Promise<LabState> {
  await networkUp();
  const timings: LabState["timings"] = { baseBuildMs: builtMs, hosts: {}, upMs: 0 };
  const hosts = labHosts(seats, edge);
  // Meanwhile pebble and the package cache start, and the DNS as soon as all host keys are known.
  const { cloned, booted } = startHosts(hosts, labPublicKey, timings);
  const [hostKeys] = await Promise.all([cloned, caUp(), aptCacheUp()]);
  // Files written into a mounted clone are seen inside at once, booted or not.
  const roots = await labRoots();
  for (const h of hosts) trustInHost(h.name, roots);

  const state: LabState = {
    upAt: new Date().toISOString(),
    bridge: LAB.bridge,
    subnet: LAB.subnet,
    gateway: LAB.gateway,
    resolver: LAB.gateway,
    authoritative: { address: LAB.gateway, port: LAB.knotPort, zones: [] },
    ...(seats ? { seats } : {}),
    ...(edge ? { edge } : {}),
    hosts: Object.fromEntries(hosts.map((h) => [h.name, hostState(h, hostKeys[h.name])])),
    knownHostsPath: PATHS.knownHosts,
    acme: { directory: ACME_DIRECTORY, rootCertPath: CA_FILES.pebbleRoot, listenerCaPath: CA_FILES.labCa, trustBundlePath: CA_FILES.trustBundle },
    timings,
    checkout: labCheckout(undefined, edge),
  };
  fs.writeFileSync(PATHS.knownHosts, knownHostsText(state));
  if (seats) writeSeatStacks(seats, undefined, log);
  writeLabState(state); // the pod stacks resolve `lab: { name: a }` through it

  const serial = Math.floor(Date.now() / 1000);
  const zones = await allZones(state, serial, log);
  state.authoritative.zones = zones.map((z) => z.zone);
  await dnsUp(zones);

  await booted;
  await resolverAnswers(hosts.at(-1)!);
  state.timings.upMs = Date.now() - started;
  writeLabState(state);
  return state;
}

/** Every zone the lab serves: lab.test, the pods' zones (seats too), the reverse zone. */
async function allZones(state: LabState, serial: number, log: Log) {
  const pods = await podZones(state, serial, log);
  return [labZone(serial, state.seats, state.edge), ...pods, reverseZone(pods, serial, state.seats, state.edge)];
}

/** The lab resolver must answer for the lab zone before anyone is told the lab (or a seat) is up. */
async function resolverAnswers(host: LabHost): Promise<void> {
  const resolver = new Resolver();
  resolver.setServers([LAB.gateway]);
  await waitFor("the lab resolver", async () => (await resolver.resolve4(hostFqdn(host.name)))[0] === host.address, 5000, 100);
}

/**
 * Seats up to `seats` added to a running lab: their hosts cloned and booted, their stack
 * files written (or kept), and the lab DNS serving their zones and names. The network
 * already lets every seat address out (network.ts). A failure removes the new seats again.
 */
async function addSeats(state: LabState, seats: number, log: Log): Promise<void> {
  const had = state.seats ?? 0;
  const added = Array.from({ length: seats - had }, (_, i) => seatHost(had + i + 1));
  log(`lab: adding seat(s) ${added.map((h) => h.name).join(", ")} to the running lab`);
  await addHosts(state, added, log, {
    take: () => { state.seats = seats; writeSeatStacks(seats, undefined, log); },
    undo: () => { state.seats = had || undefined; },
    done: (secs) => `lab: seat(s) ${added.map((h) => h.name).join(", ")} up in ${secs} s`,
  });
}

/** The edge and its box behind NAT (`up --edge`) added to a running lab, as seats are. */
async function addEdge(state: LabState, log: Log): Promise<void> {
  log("lab: adding the edge and its box behind NAT to the running lab");
  await addHosts(state, [...EDGE_HOSTS], log, {
    take: () => { state.edge = true; },
    undo: () => { delete state.edge; },
    done: (secs) => `lab: edge and box up in ${secs} s`,
  });
}

/**
 * Hosts added to a running lab: cloned and booted, in the state file and known_hosts, their
 * names and zones in the lab DNS. A failure removes them again and leaves the lab as it was.
 */
async function addHosts(state: LabState, added: LabHost[], log: Log, how: { take(): void; undo(): void; done(secs: string): string }): Promise<void> {
  const started = Date.now();
  await ensureBase(log, added.filter((h) => !labHostsOf(state).some((o) => o.release === h.release)).map((h) => h.release));
  const { cloned, booted } = startHosts(added, await ensureLabKey(), state.timings);
  try {
    const keys = await cloned;
    const roots = await labRoots();
    for (const h of added) trustInHost(h.name, roots);
    for (const h of added) state.hosts[h.name] = hostState(h, keys[h.name]);
    how.take();
    fs.writeFileSync(PATHS.knownHosts, knownHostsText(state));
    writeLabState(state);
    const zones = await allZones(state, Math.floor(Date.now() / 1000), log);
    state.authoritative.zones = zones.map((z) => z.zone);
    await dnsRefresh(zones);
    await booted;
    await resolverAnswers(added.at(-1)!);
    writeLabState(state);
    log(how.done(((Date.now() - started) / 1000).toFixed(1)));
  } catch (err) {
    log(`lab: adding ${added.map((h) => h.name).join(", ")} failed, removing them (logs stay in ${PATHS.logs})`);
    await booted.catch(() => {});
    for (const h of added) {
      await stopHost(h.name);
      await removeHost(h.name);
      delete state.hosts[h.name];
    }
    how.undo();
    fs.writeFileSync(PATHS.knownHosts, knownHostsText(state));
    writeLabState(state);
    throw err;
  }
}

/** What is wrong with a lab that should be up: dead daemons, stopped hosts (seats too). Empty when healthy. */
export async function labProblems(): Promise<string[]> {
  const problems: string[] = [];
  for (const d of DAEMONS) if (!daemonAlive(d)) problems.push(`${d} is not running`);
  const state = readLabState();
  for (const h of state ? labHostsOf(state) : labHosts()) if (!hostRunning(h.name)) problems.push(`host ${h.name} is not running`);
  return problems;
}

export interface HostStatus {
  name: string;
  address: string;
  release: string;
  running: boolean;
  ssh: "ok" | string;
}

/** Each host: does nspawn run, does SSH answer with the pinned key. */
export async function hostStatuses(state: LabState): Promise<HostStatus[]> {
  return Promise.all(
    labHostsOf(state).map(async (h) => {
      const s = state.hosts[h.name];
      const running = hostRunning(h.name);
      let ssh = "not tried";
      if (running && s) {
        try {
          const target = { ...labTarget(h.name, s.address, s.hostKey), privateKeyPath: s.sshPrivateKeyPath };
          (await connectPinned(target, { attemptTimeoutMs: 3000, waitMs: 0, retryEveryMs: 0 })).dispose();
          ssh = "ok";
        } catch (err) {
          ssh = (err as Error).message;
        }
      }
      return { name: h.name, address: s?.address ?? h.address, release: labHostRelease(state, h.name), running, ssh };
    }),
  );
}

/** Everything of the lab still present on this machine; empty after a complete `down`. */
export async function labLeftovers(): Promise<string[]> {
  const left = await networkLeftovers();
  for (const m of labMounts()) left.push(`mount ${m}`);
  for (const h of hostNames()) for (const pid of hostProcesses(h)) left.push(`process ${pid} of host ${h}`);
  for (const d of knownDaemons()) if (daemonAlive(d)) left.push(`process ${d}`);
  if (fs.existsSync(PATHS.ipForwardSaved)) left.push(`ip_forward not restored (saved value in ${PATHS.ipForwardSaved})`);
  return left;
}

export async function labDown(log: Log): Promise<void> {
  const release = acquireLabLock();
  try {
    await teardown(log);
  } finally {
    release();
  }
}

/** The configured hosts plus any clone directory left on disk (a host list changed since). */
function hostNames(): Set<string> {
  const names = new Set([...labHosts(0, true), ...(readLabState() ? labHostsOf(readLabState()!) : [])].map((h) => h.name));
  if (fs.existsSync(PATHS.hosts)) for (const d of fs.readdirSync(PATHS.hosts)) names.add(d);
  return names;
}

/**
 * Removes everything `up` makes, from whatever is left (a running lab, a half-made one, a
 * crash): hosts, daemons, mounts, network, run files. Each step tolerates "already gone".
 */
async function teardown(log: Log): Promise<void> {
  const names = hostNames();
  await Promise.all([...names].map((n) => stopHost(n)));
  await Promise.all([caDown(), dnsDown(), aptCacheDown()]);
  for (const d of knownDaemons()) await stopDaemon(d);
  for (const n of names) await removeHost(n);
  await networkDown();
  // Run files go; logs stay for whoever debugs a failed `up` (the next `up` overwrites them).
  if (fs.existsSync(RUN_DIR)) for (const f of fs.readdirSync(RUN_DIR)) if (f !== "log") fs.rmSync(`${RUN_DIR}/${f}`, { recursive: true, force: true });
  const left = await labLeftovers();
  if (left.length) throw new LabError(`lab: down left these behind: ${left.join(", ")}`);
  log(`lab: down (hosts${[...names].some((n) => n.startsWith("seat")) ? " and seats" : ""}, DNS, CA, package cache, bridge, NAT and mounts removed; ip_forward restored; the package cache's files stay in ${PATHS.aptCache})`);
}

export { baseBuildMs };
