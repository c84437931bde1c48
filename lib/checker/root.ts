// The checker roots: one Debian tree per supported release with every daemon
// the roles install, used only to run those daemons' own config checkers on
// rendered configs, without a lab and without network. Each is built once by
// debootstrap (setup does it; that part needs the network) and cached under
// CHECKER_DIR/<codename>. Like the lab's base tree a root is built aside and
// renamed into place, so a half-built tree is never used; a package a role
// adds later is installed into the cached tree (a changed build rebuilds it). Package scripts start no daemon in it (policy-rc.d
// refuses). Other checks (cloud-init's schema check of user data) find a
// release's tree with checkerRootOf.
import * as fs from "node:fs";
import * as path from "node:path";
import { must } from "./run";
import { renderExampleStacks } from "./render";
import { mustRelease, RELEASES } from "../stack/releases";

const CHECKER_DIR = "/var/lib/podkit/checker";
const MIRROR = "http://deb.debian.org/debian";
const SECURITY_MIRROR = "http://deb.debian.org/debian-security";

/** The tree of one release: its rootfs and the manifest it was built from. */
const treeOf = (codename: string) => path.join(CHECKER_DIR, codename);
const manifestOf = (codename: string) => path.join(treeOf(codename), "manifest.json");

/** The checker root of a release ("trixie"): a Debian tree to chroot into; an unsupported release is an error. */
export function checkerRootOf(codename: string): string {
  return path.join(treeOf(mustRelease(codename).codename), "rootfs");
}

/**
 * What every host has before any role runs, and what the checks need beside
 * the roles' packages: sshd (`sshd -t`), systemd (`systemd-analyze verify`),
 * openssl (the stand-in certificate), the CA bundle main.cf names, and
 * cloud-init (`cloud-init schema` on a Hetzner server's user data).
 */
const HOST_PACKAGES = ["openssh-server", "systemd", "openssl", "ca-certificates", "cloud-init"];

/** Bump when the build below changes, so cached trees are rebuilt. */
const LAYOUT = 3;

interface Wanted {
  layout: number;
  suite: string;
  mirror: string;
  packages: string[];
  debconf: string[];
}

/** The roles' packages and debconf answers over every example stack rendered for `suite`: its tree holds them all. */
function wanted(suite: string): Wanted {
  const states = renderExampleStacks(suite).flatMap((h) => h.states);
  const packages = [...new Set([...HOST_PACKAGES, ...states.flatMap((s) => s.packages)])].sort();
  // One answer per question (the first stack's): answers like postfix/mailname differ per host.
  const debconf = new Map<string, string>();
  for (const line of states.flatMap((s) => s.debconf ?? [])) {
    const question = line.split(/\s+/).slice(0, 2).join(" ");
    if (!debconf.has(question)) debconf.set(question, line);
  }
  return { layout: LAYOUT, suite, mirror: MIRROR, packages, debconf: [...debconf.values()].sort() };
}

function readManifest(codename: string): Wanted | null {
  try {
    return JSON.parse(fs.readFileSync(manifestOf(codename), "utf8"));
  } catch {
    return null;
  }
}

/**
 * The cached tree can serve `w` as it is, or after installing what it lacks: same
 * build (layout, suite, mirror), and every debconf answer it was built with still
 * wanted. A package no longer wanted may stay: a checker never looks at it.
 */
function sameBase(m: Wanted | null, w: Wanted): m is Wanted {
  return m !== null && m.layout === w.layout && m.suite === w.suite && m.mirror === w.mirror && m.debconf.every((line) => w.debconf.includes(line));
}

/** What `w` wants that the release's cached tree does not have yet: packages, debconf answers. */
function missing(m: Wanted, w: Wanted): { packages: string[]; debconf: string[] } {
  return { packages: w.packages.filter((p) => !m.packages.includes(p)), debconf: w.debconf.filter((l) => !m.debconf.includes(l)) };
}

/** True when the release's cached tree exists (its manifest arrived with it), was built the current way and holds every package the roles install. */
export function checkerRootIsCurrent(suite: string, w: Wanted = wanted(suite)): boolean {
  const m = readManifest(suite);
  return sameBase(m, w) && missing(m, w).packages.length === 0 && missing(m, w).debconf.length === 0;
}

/**
 * Makes sure a current checker root exists for every supported release;
 * builds the ones that do not (a few minutes each, network needed). Returns
 * the build time in ms, or null when every cache was used.
 */
export async function ensureCheckerRoots(log: (line: string) => void): Promise<number | null> {
  // Side by side: a build waits on the mirror and on dpkg in turns, so two overlap well
  // (a fresh machine builds both in about the time of the slower one).
  const times = await Promise.all(RELEASES.map(({ codename }) => ensureCheckerRoot(codename, log)));
  const built = times.filter((ms): ms is number => ms !== null);
  return built.length ? Math.max(...built) : null;
}

/** Makes sure the release's checker root is current, building it if not. Returns the build time in ms, or null when the cache was used. */
export async function ensureCheckerRoot(suite: string, log: (line: string) => void): Promise<number | null> {
  const w = wanted(mustRelease(suite).codename);
  if (checkerRootIsCurrent(suite, w)) return null;
  const started = Date.now();
  const m = readManifest(suite);
  if (sameBase(m, w)) {
    // A role installs a new package: add it to the tree in place (a minute), not a new debootstrap.
    const add = missing(m, w);
    log(`checker: adding ${add.packages.join(" ") || "debconf answers"} to the ${suite} checker root ...`);
    await install(checkerRootOf(suite), { ...w, packages: add.packages, debconf: add.debconf });
    const packages = [...new Set([...m.packages, ...w.packages])].sort();
    const debconf = [...new Set([...m.debconf, ...w.debconf])].sort();
    fs.writeFileSync(manifestOf(suite), JSON.stringify({ ...m, packages, debconf, grownAt: new Date().toISOString() }, null, 2) + "\n");
    return Date.now() - started;
  }
  fs.mkdirSync(CHECKER_DIR, { recursive: true });
  // Leftovers of this release's interrupted builds and replaced trees (another release's build may be running).
  for (const entry of fs.readdirSync(CHECKER_DIR)) {
    if (entry.startsWith(`.build-${suite}-`) || entry.startsWith(`.old-${suite}-`)) fs.rmSync(path.join(CHECKER_DIR, entry), { recursive: true, force: true });
  }
  const build = fs.mkdtempSync(path.join(CHECKER_DIR, `.build-${suite}-`));
  const root = path.join(build, "rootfs");
  log(`checker: building the ${suite} checker root (debootstrap and ${w.packages.length} packages, a few minutes, once) ...`);
  await must(["debootstrap", "--variant=minbase", "--components=main", suite, root, MIRROR]);
  await install(root, w);
  const buildMs = Date.now() - started;
  fs.writeFileSync(path.join(build, "manifest.json"), JSON.stringify({ ...w, builtAt: new Date().toISOString(), buildMs }, null, 2) + "\n");
  const tree = treeOf(suite);
  if (fs.existsSync(tree)) {
    const old = path.join(CHECKER_DIR, `.old-${suite}-${Date.now()}`);
    fs.renameSync(tree, old);
    fs.renameSync(build, tree);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(build, tree);
  }
  log(`checker: ${suite} checker root built in ${(buildMs / 1000).toFixed(1)} s`);
  return buildMs;
}

/** The roles' packages, installed the way converge installs them (debconf first, no recommends). */
async function install(root: string, w: Wanted): Promise<void> {
  const at = (p: string) => path.join(root, p);
  // invoke-rc.d asks policy-rc.d first: 101 means "no", so no package script starts a daemon here.
  fs.writeFileSync(at("usr/sbin/policy-rc.d"), "#!/bin/sh\n# podkit checker root: daemons never run here, only their config checkers.\nexit 101\n", { mode: 0o755 });
  // Checkers read no documentation, manual pages or translations: a fifth of the tree, left out.
  fs.writeFileSync(at("etc/dpkg/dpkg.cfg.d/podkit-checker"), ["/usr/share/doc/*", "/usr/share/man/*", "/usr/share/info/*", "/usr/share/locale/*"].map((p) => `path-exclude=${p}\n`).join(""));
  // Updates and security updates too: the checkers are the versions a pod runs.
  fs.writeFileSync(at("etc/apt/sources.list"), `deb ${MIRROR} ${w.suite} main\ndeb ${MIRROR} ${w.suite}-updates main\ndeb ${SECURITY_MIRROR} ${w.suite}-security main\n`);
  const script = [
    "set -eu",
    "mount -t proc proc /proc",
    "export DEBIAN_FRONTEND=noninteractive",
    "apt-get update -qq",
    `debconf-set-selections <<'PODKIT_EOF'\n${w.debconf.join("\n")}\nPODKIT_EOF`,
    `apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold ${w.packages.join(" ")} >/dev/null`,
    "apt-get clean",
    "rm -rf /var/lib/apt/lists/*",
  ].join("\n");
  // A private mount namespace: the /proc mounted for package scripts goes away with it.
  await must(["unshare", "--mount", "--fork", "chroot", root, "/bin/sh", "-c", script]);
}
