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
} as const;

export type LabRelease = (typeof LAB.releases)[number];

/**
 * The lab hosts, fixed: `a` and `b` run the pods a.test and b.test (stacks/lab-a.yaml,
 * stacks/lab-b.yaml), `backup` is the backup target. Addresses are in LAB.subnet.
 * The lab is mixed on purpose: a.test on Debian 13 and b.test on Debian 12, so every
 * test of mail and chat between the pods proves the two releases work together.
 * `podkit lab recreate <host> --release <codename>` replaces a host with another release.
 */
export const LAB_HOSTS: readonly { name: string; address: string; role: string; release: LabRelease }[] = [
  { name: "a", address: "10.77.0.11", role: "pod a.test", release: "trixie" },
  { name: "b", address: "10.77.0.12", role: "pod b.test", release: "bookworm" },
  { name: "backup", address: "10.77.0.13", role: "backup target", release: "bookworm" },
];

export function isLabRelease(name: string): name is LabRelease {
  return (LAB.releases as readonly string[]).includes(name);
}

/**
 * The two lab pods: their zones are served by the lab's knot exactly as `podkit zone <stack>`
 * prints them. Stack paths are relative to the repository root.
 */
export const LAB_PODS: readonly { zone: string; stack: string; host: string }[] = [
  { zone: "a.test", stack: "stacks/lab-a.yaml", host: "a" },
  { zone: "b.test", stack: "stacks/lab-b.yaml", host: "b" },
];

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
