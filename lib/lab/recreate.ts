// `podkit lab recreate <host> [--release <codename>]`: the host is destroyed and a
// new, empty one takes its place at the same address, with a new host key — what a
// pod's admin meets when a server dies and a blank one is installed (the rebuild
// drill). It runs the release it ran before unless another is named: a pod moves
// from Debian 12 to 13 by backup, recreate with --release trixie, apply, restore. The state
// file, known_hosts and so every pin follow the new key; nothing else of the lab
// (DNS, CA, the other hosts) is touched.
import * as fs from "node:fs";
import { labRoots } from "./ca";
import { ensureBase } from "./base";
import { LAB, type LabRelease, PATHS, SEATS, anyLabHost, isLabRelease, labHosts, seatNumber } from "./config";
import { LabError } from "./errors";
import { bootHost, prepareHost, removeHost, stopHost, trustInHost } from "./host";
import { acquireLabLock } from "./lock";
import { bareKey, fingerprint } from "../ssh/keys";
import { ensureLabKey, knownHostsText, waitForLabSsh } from "./ssh";
import { type LabState, labHostRelease, labHostsOf, readLabState, writeLabState } from "./state";

/**
 * With `cloudInit`, the new host boots as a cloud server does: through cloud-init, from a
 * NoCloud seed holding exactly that user data (podkit's first-boot user data for a
 * Hetzner server), and its pin is the key the user data hands it.
 */
export async function labRecreate(name: string, log: (line: string) => void, wantedRelease?: string, cloudInit?: { userData: string }): Promise<LabState> {
  if (!anyLabHost(name)) throw new LabError(`no lab host "${name}" (hosts: ${labHosts().map((h) => h.name).join(", ")}, seats seat1 to seat${SEATS.max}, and edge and box with --edge)`);
  if (wantedRelease !== undefined && !isLabRelease(wantedRelease)) {
    throw new LabError(`the lab has no Debian release "${wantedRelease}" (releases: ${LAB.releases.join(", ")})`);
  }
  const release = acquireLabLock();
  try {
    const state = readLabState();
    if (!state) throw new LabError("the lab is down: start it with `npx podkit lab up`");
    const host = labHostsOf(state).find((h) => h.name === name);
    if (!host) throw new LabError(seatNumber(name) ? `the lab has no seat "${name}" (it has ${state.seats ?? 0}): add it with \`npx podkit lab up --seats ${seatNumber(name)}\`` : `the lab has no host "${name}": add the edge and its box with \`npx podkit lab up --edge\``);
    const started = Date.now();
    const old = state.hosts[name];
    const oldRelease = labHostRelease(state, name) as LabRelease;
    const release: LabRelease = wantedRelease ?? oldRelease;
    // Only a release no running host uses may be (re)built here: the others are mounted.
    if (!labHostsOf(state).some((h) => h.name !== name && labHostRelease(state, h.name) === release)) await ensureBase(log, [release]);
    await stopHost(name);
    await removeHost(name);
    const key = await prepareHost(name, host.address, await ensureLabKey(), release, cloudInit);
    const createMs = Date.now() - started;
    trustInHost(name, await labRoots());
    bootHost(name);
    await waitForLabSsh(name, host.address, bareKey(key));
    state.hosts[name] = { ...state.hosts[name], hostKey: bareKey(key), fingerprint: fingerprint(key), release };
    state.timings.hosts[name] = { createMs, bootMs: Date.now() - started - createMs, totalMs: Date.now() - started };
    fs.writeFileSync(PATHS.knownHosts, knownHostsText(state));
    writeLabState(state);
    const releaseChange = release === oldRelease ? release : `${oldRelease} -> ${release}`;
    log(`lab: host ${name} recreated empty at ${host.address} (${releaseChange}${cloudInit ? ", first boot through cloud-init" : ""}) in ${((Date.now() - started) / 1000).toFixed(1)} s; host key ${old.fingerprint} -> ${state.hosts[name].fingerprint}`);
    return state;
  } finally {
    release();
  }
}
