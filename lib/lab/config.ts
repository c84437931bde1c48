// The lab's fixed facts, declared once: names, addresses, paths and the host list.
// Everything else in lib/lab derives from these; change the subnet or a host here only.
import * as path from "node:path";

/** Persistent lab data: the cached base tree, the lab SSH key, the lab CA. Survives `down`. */
export const LAB_DIR = "/var/lib/podkit/lab";
/** What exists only while the lab is up: pid files, daemon configs, logs, zones, the state file. Removed by `down`. */
export const RUN_DIR = "/run/podkit-lab";

export const LAB = {
  /** Linux bridge the lab hosts hang off (max 15 chars). `up` refuses if it already exists. */
  bridge: "podkitlab0",
  /** The lab's own IPv4 subnet; `up` refuses if any address or route on this machine overlaps it. */
  subnet: "10.77.0.0/24",
  prefixLength: 24,
  /** The outer machine's address on the bridge: gateway, lab resolver, lab CA (ACME) and authoritative DNS. */
  gateway: "10.77.0.1",
  /** nftables table holding the lab's NAT and forward rules; `down` deletes it whole. */
  nftTable: "podkit_lab",
  /** Authoritative DNS (knot) listens here; the lab resolver (unbound) listens on gateway:53. */
  knotPort: 5353,
  /** Pebble: ACME directory and management (roots) ports on the gateway. */
  acmePort: 14000,
  acmeManagementPort: 15000,
  /** The zone the lab owns: ns, acme, gw and one name per host. */
  labZone: "lab.test",
  /** The Debian releases lab hosts can run, by codename: one cached base tree each. */
  releases: ["trixie", "bookworm"],
  /** Mirror of the base trees (also what apt inside the hosts uses). */
  mirror: "http://deb.debian.org/debian",
  securityMirror: "http://deb.debian.org/debian-security",
  /**
   * The shared package cache (apt-cacher-ng, lib/lab/apt-cache.ts) listens on gateway:aptCachePort.
   * Not apt-cacher-ng's usual 3142: Debian's own apt-cacher-ng service, where it runs, holds
   * 3142 on every address, and the lab must come up beside it.
   */
  aptCachePort: 3143,
} as const;

export type LabRelease = (typeof LAB.releases)[number];

/**
 * The lab hosts, fixed: `a` and `b` run the pods a.test and b.test (stacks/lab-a.yaml,
 * stacks/lab-b.yaml), `backup` is the backup target. Addresses are in LAB.subnet.
 * The lab is mixed on purpose: a.test on Debian 13 and b.test on Debian 12, so every
 * test of mail and chat between the pods proves the two releases work together.
 * `podkit lab recreate <host> --release <codename>` replaces a host with another release.
 */
export interface LabHost {
  name: string;
  address: string;
  role: string;
  release: LabRelease;
  /** On the lab's NAT'd segment (HACKSPACE) instead of the lab bridge: it can reach out, nothing can reach in. */
  behindNat?: boolean;
}

export const LAB_HOSTS: readonly LabHost[] = [
  { name: "a", address: "10.77.0.11", role: "pod a.test", release: "trixie" },
  { name: "b", address: "10.77.0.12", role: "pod b.test", release: "bookworm" },
  { name: "backup", address: "10.77.0.13", role: "backup target", release: "bookworm" },
];

/**
 * The hackspace's line (`podkit lab up --edge`): a second bridge whose hosts reach the lab
 * only through the outer machine's NAT, as a box behind a home router or CGNAT reaches the
 * Internet. Nothing on the lab bridge can open a connection to it; the outer machine (the
 * admin's laptop on the hackspace LAN) can. Created on every `up`, empty without --edge.
 */
export const HACKSPACE = {
  bridge: "podkitlab1",
  subnet: "10.77.1.0/24",
  prefixLength: 24,
  gateway: "10.77.1.1",
} as const;

/**
 * With --edge: the pod hs.test (stacks/lab-edge.yaml) on "box", behind NAT, and its public
 * face "edge" on the lab bridge, as a small VPS. Not "gw": gw.lab.test is the outer
 * machine's own name in the lab zone (tests send mail as it).
 */
export const EDGE_HOSTS: readonly LabHost[] = [
  { name: "edge", address: "10.77.0.14", role: "edge of pod hs.test", release: "bookworm" },
  { name: "box", address: "10.77.1.11", role: "pod hs.test behind NAT", release: "trixie", behindNat: true },
];

/** The network a lab host hangs off: its bridge, its gateway (the outer machine) and prefix. */
export function hostNetwork(h: LabHost): { bridge: string; gateway: string; prefixLength: number } {
  return h.behindNat ? HACKSPACE : LAB;
}

export function isLabRelease(name: string): name is LabRelease {
  return (LAB.releases as readonly string[]).includes(name);
}

/**
 * The two lab pods: their zones are served by the lab's knot exactly as `podkit zone <stack>`
 * prints them. Stack paths are relative to the repository root.
 */
export interface LabPod {
  zone: string;
  /** Stack file, relative to the repository root. */
  stack: string;
  /** The lab host the pod runs on. */
  host: string;
  /** The lab host that is the pod's public face when it has an edge: its address sends the pod's mail. */
  edge?: string;
}

export const LAB_PODS: readonly LabPod[] = [
  { zone: "a.test", stack: "stacks/lab-a.yaml", host: "a" },
  { zone: "b.test", stack: "stacks/lab-b.yaml", host: "b" },
];

export const EDGE_POD: LabPod = { zone: "hs.test", stack: "stacks/lab-edge.yaml", host: "box", edge: "edge" };

/**
 * Workshop seats (`podkit lab up --seats N`): N more hosts seat1..seatN, each running its own
 * pod seatK.test from a stack file the lab writes (lib/lab/seats.ts), beside the fixed hosts.
 * Everything about a seat derives from its number and these facts.
 */
export const SEATS = {
  /** At most this many: eight pods (about 180 MB each) and their applies on one laptop. */
  max: 8,
  /**
   * Last octet of seat1's address; seat K is at firstOctet + K - 1 (10.77.0.21-28): after the
   * fixed hosts (.11-.13), clear of the client addresses tests put on the bridge (.91-.99, .200, .250).
   */
  firstOctet: 21,
  /** Seats run the default release of a new pod (as a new Hetzner server does). */
  release: "trixie" as LabRelease,
  /** Where seat K's stack (seatK.yaml) and its secrets (seatK.secrets.yaml) are written; gitignored. */
  stackDir: "stacks/seats",
} as const;

/** "seat3" -> 3; anything else -> undefined. */
export function seatNumber(name: string): number | undefined {
  const m = /^seat([1-9]\d*)$/.exec(name);
  return m && Number(m[1]) <= SEATS.max ? Number(m[1]) : undefined;
}

/** Seat K's host: seatK at 10.77.0.(20+K), Debian 13. */
export function seatHost(k: number): LabHost {
  const prefix = LAB.gateway.split(".").slice(0, 3).join(".");
  return { name: `seat${k}`, address: `${prefix}.${SEATS.firstOctet + k - 1}`, role: `pod seat${k}.test`, release: SEATS.release };
}

/** Seat K's pod: zone seatK.test from stacks/seats/seatK.yaml on host seatK. */
export function seatPod(k: number): LabPod {
  return { zone: `seat${k}.test`, stack: `${SEATS.stackDir}/seat${k}.yaml`, host: `seat${k}` };
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Every host of a lab with `seats` seats: the fixed hosts, then seat1..seatN, then with `edge` the edge and its box. */
export function labHosts(seats = 0, edge = false): LabHost[] {
  return [...LAB_HOSTS, ...upTo(seats).map(seatHost), ...(edge ? EDGE_HOSTS : [])];
}

/** Every pod of a lab with `seats` seats: a.test, b.test, then seat1.test..seatN.test, then with `edge` hs.test. */
export function labPods(seats = 0, edge = false): LabPod[] {
  return [...LAB_PODS, ...upTo(seats).map(seatPod), ...(edge ? [EDGE_POD] : [])];
}

/** Every host a lab can have at all: for names asked about before the lab says which it has. */
export const anyLabHost = (name: string): LabHost | undefined => labHosts(SEATS.max, true).find((h) => h.name === name);

/** The --seats value: a whole number 1..SEATS.max, or an error message saying what is allowed. */
export function parseSeats(value: string): number | string {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > SEATS.max) return `--seats takes a number of seats from 1 to ${SEATS.max}, not "${value}"`;
  return n;
}

/**
 * Packages of the base tree on top of debootstrap's minbase. systemd/systemd-sysv/dbus:
 * a real init as PID 1 so roles manage units like on a real server; openssh-server: the
 * only way podkit talks to hosts; iproute2: networkd's static address is inspectable;
 * ca-certificates: the lab roots are added to its bundle; busybox: a tiny `httpd` that
 * serves ACME HTTP-01 tokens in the lab CA test before any pod web server exists (1 MB,
 * against ~40 MB for python3).
 */
export const BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "openssh-server", "iproute2", "ca-certificates", "busybox"];

/** Repository root (lib/lab/ is two levels down). */
export { REPO_ROOT } from "../paths";

export const PATHS = {
  /** The cached base trees, one per release: base/<release>/tree (see baseTreePaths). */
  base: path.join(LAB_DIR, "base"),
  hosts: path.join(LAB_DIR, "hosts"),
  sshKey: path.join(LAB_DIR, "ssh", "id_ed25519"),
  caDir: path.join(LAB_DIR, "ca"),
  /** The shared package cache's files (apt-cacher-ng's CacheDir): kept across `down`, so packages are fetched once per machine. */
  aptCache: path.join(LAB_DIR, "apt-cache"),
  state: path.join(RUN_DIR, "state.json"),
  lock: path.join(LAB_DIR, "lock"),
  knownHosts: path.join(RUN_DIR, "known_hosts"),
  ipForwardSaved: path.join(RUN_DIR, "ip_forward.saved"),
  zones: path.join(RUN_DIR, "zones"),
  logs: path.join(RUN_DIR, "log"),
  pids: path.join(RUN_DIR, "pid"),
};

/**
 * One release's cached base tree: <release>/tree/{rootfs,manifest.json}. It appears there by
 * one rename, complete or not at all; builds happen beside it in <release>/.build-*.
 */
export function baseTreePaths(release: LabRelease) {
  const dir = path.join(PATHS.base, release);
  const tree = path.join(dir, "tree");
  return { dir, tree, root: path.join(tree, "rootfs"), manifest: path.join(tree, "manifest.json") };
}

/** Where one host's overlay lives: upper (its changes), work (overlayfs scratch), root (the mount). */
export function hostPaths(name: string) {
  const dir = path.join(PATHS.hosts, name);
  return { dir, upper: path.join(dir, "upper"), work: path.join(dir, "work"), root: path.join(dir, "root") };
}

/** Fully qualified lab name of a host: a -> a.lab.test. */
export function hostFqdn(name: string): string {
  return `${name}.${LAB.labZone}`;
}
