// The lab state file: what a running lab looks like, for the rest of podkit (stack
// hosts written `lab: { name: a }` resolve through it), for tests and for `status`.
// It lives in RUN_DIR, so it exists exactly while the lab is up; `down` removes it.
import * as fs from "node:fs";
import * as path from "node:path";
import type { LabCheckout } from "./checkout";
import { type LabHost, type LabPod, PATHS, labHosts, labPods } from "./config";

/** One lab host as podkit reaches it. */
export interface LabHostState {
  /** IPv4 address on the lab bridge, e.g. "10.77.0.11". */
  address: string;
  /** Fully qualified lab name, e.g. "a.lab.test" (in the lab.test zone). */
  fqdn: string;
  /** Its ed25519 host public key, "ssh-ed25519 AAAA...": pin it, never learn it from the network. */
  hostKey: string;
  /** SHA-256 fingerprint of hostKey as ssh-keygen prints it: "SHA256:...". */
  fingerprint: string;
  /** Private key that logs in as root on every lab host (mode 0600). */
  sshPrivateKeyPath: string;
  /** SSH user: always root in the lab. */
  user: string;
  /** The Debian release the host runs, by codename ("trixie"); absent from a state written by an older podkit (bookworm then). */
  release?: string;
}

/** How long the last `up` took, in milliseconds. */
export interface LabTimings {
  /** debootstrap of the base trees, when this `up` had to build one; null when the cache was used. */
  baseBuildMs: number | null;
  /** Per host: overlay clone + identity written (createMs) and from then until SSH answered with the pinned key (bootMs). */
  hosts: Record<string, { createMs: number; bootMs: number; totalMs: number }>;
  /** The whole `up`, from the command start to every host, DNS and the CA answering. */
  upMs: number;
}

export interface LabState {
  /** ISO time the lab came up. */
  upAt: string;
  /** Linux bridge of the lab. */
  bridge: string;
  /** Lab IPv4 subnet in CIDR form, e.g. "10.77.0.0/24". */
  subnet: string;
  /** The outer machine's address on the bridge (default route of the hosts). */
  gateway: string;
  /** IP of the lab resolver (port 53): lab zones from knot, everything else forwarded to the outer resolver. */
  resolver: string;
  /** Authoritative lab DNS (knot): address, port and the zones it serves. */
  authoritative: { address: string; port: number; zones: string[] };
  /** How many workshop seats (seat1..seatN, `lab up --seats N`) the lab has; absent: none. */
  seats?: number;
  /** Whether the lab has the edge and its box behind NAT (`lab up --edge`). */
  edge?: boolean;
  /** Lab hosts by name ("a", "b", "backup", and "seat1".. with seats). */
  hosts: Record<string, LabHostState>;
  /** known_hosts file listing every host's pinned key, for `ssh -o UserKnownHostsFile=... -o StrictHostKeyChecking=yes`. */
  knownHostsPath: string;
  acme: {
    /** https URL of pebble's ACME directory (by IP, so clients outside the lab resolver reach it too). */
    directory: string;
    /** PEM of pebble's root: the CA that signs issued certificates. New on every `up`. */
    rootCertPath: string;
    /** PEM of the lab CA that signs pebble's own HTTPS listener (cached across `up`). */
    listenerCaPath: string;
    /** PEM bundle trusting both (give to test clients as `ca:` or NODE_EXTRA_CA_CERTS). Installed in every lab host too. */
    trustBundlePath: string;
  };
  timings: LabTimings;
  /**
   * The checkout that brought the lab up, and its lab pods' secrets files: another checkout's
   * `up` copies them from there (lib/lab/checkout.ts). Absent from a state written by an older podkit.
   */
  checkout?: LabCheckout;
}

/** The Debian release lab host `name` runs; a state written before hosts had releases means bookworm. */
export function labHostRelease(state: LabState, name: string): string {
  return state.hosts[name]?.release ?? "bookworm";
}

/** Every host of this lab, fixed and seats (the lab's host list as config.ts derives it). */
export function labHostsOf(state: LabState): LabHost[] {
  return labHosts(state.seats ?? 0, !!state.edge);
}

/** Every pod of this lab: a.test, b.test, the seats' and the edge's. */
export function labPodsOf(state: LabState): LabPod[] {
  return labPods(state.seats ?? 0, !!state.edge);
}

/** The running lab's state, or null when the lab is down. */
export function readLabState(): LabState | null {
  try {
    return JSON.parse(fs.readFileSync(PATHS.state, "utf8")) as LabState;
  } catch {
    return null;
  }
}

export function writeLabState(state: LabState): void {
  fs.mkdirSync(path.dirname(PATHS.state), { recursive: true });
  const tmp = `${PATHS.state}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(tmp, PATHS.state);
}

/** "up" means the state file exists; whether every daemon still runs is `status`'s job. */
export function labIsUp(): boolean {
  return fs.existsSync(PATHS.state);
}
