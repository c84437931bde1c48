// The base trees: one Debian root filesystem per release the lab runs (LAB.releases),
// built by debootstrap and cached under LAB_DIR/base/<release>/tree. Every lab host is
// an overlay clone of its release's tree, so a tree holds no per-host identity: no
// machine-id, no SSH host keys, no hostname.
// It is built in a temporary directory and renamed into place, so a half-built tree
// (an interrupted debootstrap) is never used; a changed package list rebuilds it.
import * as fs from "node:fs";
import * as path from "node:path";
import { $ } from "./sh";
import { BASE_PACKAGES, LAB, LAB_HOSTS, type LabRelease, PATHS, baseTreePaths } from "./config";

/** Bump when the customisation below changes, so cached trees are rebuilt. */
const BASE_LAYOUT = 2;

interface Manifest {
  layout: number;
  suite: string;
  mirror: string;
  packages: string[];
  builtAt: string;
  buildMs: number;
}

function wanted(release: LabRelease): Omit<Manifest, "builtAt" | "buildMs"> {
  return { layout: BASE_LAYOUT, suite: release, mirror: LAB.mirror, packages: [...BASE_PACKAGES] };
}

function readManifest(release: LabRelease): Manifest | null {
  try {
    return JSON.parse(fs.readFileSync(baseTreePaths(release).manifest, "utf8")) as Manifest;
  } catch {
    return null;
  }
}

/** True when the release's cached tree exists and was built from today's package list and layout. */
export function baseIsCurrent(release: LabRelease): boolean {
  const m = readManifest(release);
  const w = wanted(release);
  return (
    m !== null &&
    fs.existsSync(path.join(baseTreePaths(release).root, "sbin", "init")) &&
    m.layout === w.layout &&
    m.suite === w.suite &&
    m.mirror === w.mirror &&
    m.packages.join(",") === w.packages.join(",")
  );
}

/** Build time of each release's cached tree (ms), for `status`; null for a release not built yet. */
export function baseBuildMs(): Record<string, number | null> {
  return Object.fromEntries(LAB.releases.map((r) => [r, readManifest(r)?.buildMs ?? null]));
}

/**
 * Makes sure a current base tree exists for each release given (by default every
 * release a lab host runs); builds the missing ones (~1 min each, in parallel).
 * Returns the total build time in ms, or null when every tree was cached. Must not
 * run while clones are mounted on a tree it rebuilds (`up` calls it before mounting;
 * `recreate` only for a release no other running host uses).
 */
/** A live line about a long step, keyed so it can be replaced and removed (undefined); shown only on a terminal. */
export type Status = (key: string, text: string | undefined) => void;

export async function ensureBase(log: (line: string) => void, needed: LabRelease[] = LAB_HOSTS.map((h) => h.release), status?: Status): Promise<number | null> {
  adoptSingleTree();
  const releases = [...new Set(needed)].filter((r) => !baseIsCurrent(r));
  if (!releases.length) return null;
  const started = Date.now();
  await Promise.all(releases.map((r) => buildTree(r, log, status)));
  return Date.now() - started;
}

/** Before one tree per release, the lab kept one bookworm tree at base/tree: move it to its release's place. */
function adoptSingleTree(): void {
  const single = path.join(PATHS.base, "tree");
  if (!fs.existsSync(single)) return;
  const target = baseTreePaths("bookworm");
  let suite: string | undefined;
  try {
    suite = (JSON.parse(fs.readFileSync(path.join(single, "manifest.json"), "utf8")) as Manifest).suite;
  } catch {
    /* no manifest: a half-built tree, dropped below */
  }
  if (suite === "bookworm" && !fs.existsSync(target.tree)) {
    fs.mkdirSync(target.dir, { recursive: true });
    fs.renameSync(single, target.tree);
  } else {
    fs.rmSync(single, { recursive: true, force: true });
  }
}

async function buildTree(release: LabRelease, log: (line: string) => void, status?: Status): Promise<void> {
  const started = Date.now();
  const paths = baseTreePaths(release);
  fs.mkdirSync(paths.dir, { recursive: true });
  // Leftovers of interrupted builds are never used; clear them.
  for (const entry of fs.readdirSync(paths.dir)) {
    if (entry.startsWith(".build-") || entry.startsWith(".old-")) fs.rmSync(path.join(paths.dir, entry), { recursive: true, force: true });
  }
  const build = fs.mkdtempSync(path.join(paths.dir, ".build-"));
  const root = path.join(build, "rootfs");
  log(`lab: building the ${release} base tree (debootstrap, about a minute, once) ...`);
  const watch = status ? watchDebootstrap(root, (text) => status(`base ${release}`, `lab: building the ${release} base tree: ${text}`)) : undefined;
  try {
    await $({ quiet: true })`debootstrap --variant=minbase --components=main --include=${BASE_PACKAGES.join(",")} ${release} ${root} ${LAB.mirror}`;
  } finally {
    if (watch) clearInterval(watch);
    status?.(`base ${release}`, undefined);
  }
  await customise(root, release);
  const buildMs = Date.now() - started;
  fs.writeFileSync(path.join(build, "manifest.json"), JSON.stringify({ ...wanted(release), builtAt: new Date().toISOString(), buildMs }, null, 2) + "\n");
  // Swap in: old tree aside, new tree in place (one rename), old tree removed.
  if (fs.existsSync(paths.tree)) {
    const old = path.join(paths.dir, `.old-${Date.now()}`);
    fs.renameSync(paths.tree, old);
    fs.renameSync(build, paths.tree);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(build, paths.tree);
  }
  log(`lab: ${release} base tree built in ${(buildMs / 1000).toFixed(1)} s`);
}

/**
 * How far debootstrap has got, from what it leaves in the tree (its output stays
 * untouched): the packages fetched into the tree's apt cache, then unpacked.
 */
function watchDebootstrap(root: string, say: (text: string) => void): NodeJS.Timeout {
  const count = (dir: string, suffix: string) => {
    try {
      return fs.readdirSync(path.join(root, dir)).filter((f) => f.endsWith(suffix)).length;
    } catch {
      return 0;
    }
  };
  return setInterval(() => {
    const fetched = count("var/cache/apt/archives", ".deb");
    const unpacked = count("var/lib/dpkg/info", ".list");
    say(unpacked ? `${unpacked} of ${fetched} package(s) unpacked` : `${fetched} package(s) fetched`);
  }, 1000);
}

/** Strips identity out of the fresh tree and sets what every lab host shares. */
async function customise(root: string, release: LabRelease): Promise<void> {
  const at = (p: string) => path.join(root, p);
  // Identity is per host (host.ts writes it into each clone).
  fs.rmSync(at("etc/machine-id"), { force: true });
  fs.rmSync(at("var/lib/dbus/machine-id"), { force: true });
  fs.rmSync(at("etc/hostname"), { force: true });
  for (const f of fs.readdirSync(at("etc/ssh"))) if (f.startsWith("ssh_host_")) fs.rmSync(at(`etc/ssh/${f}`));
  // One host key type: the ed25519 key is the one the lab pins; skipping RSA keeps clone creation fast.
  fs.writeFileSync(
    at("etc/ssh/sshd_config.d/podkit-lab.conf"),
    "# managed by podkit lab: the lab pins this one host key; root logs in with the lab key only\nHostKey /etc/ssh/ssh_host_ed25519_key\nPasswordAuthentication no\nPermitRootLogin prohibit-password\n",
  );
  // systemd-networkd gives each host its static address from /etc/systemd/network/10-host0.network (host.ts).
  await $({ quiet: true })`chroot ${root} systemctl enable systemd-networkd.service`;
  // Updates and security updates too, as on a production Debian host: pods in the lab get the
  // same package versions they get in production.
  fs.writeFileSync(
    at("etc/apt/sources.list"),
    `deb ${LAB.mirror} ${release} main\ndeb ${LAB.mirror} ${release}-updates main\ndeb ${LAB.securityMirror} ${release}-security main\n`,
  );
  // The lab writes /etc/resolv.conf itself (nspawn runs with --resolv-conf=off).
  fs.rmSync(at("etc/resolv.conf"), { force: true });
  await $({ quiet: true })`chroot ${root} apt-get clean`;
}
