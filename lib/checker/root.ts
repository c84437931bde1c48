// The checker root: a Debian bookworm tree with every daemon the roles install,
// used only to run those daemons' own config checkers on rendered configs,
// without a lab and without network. Built once by debootstrap (setup does it;
// that part needs the network) and cached under CHECKER_DIR/tree. Like the
// lab's base tree it is built aside and renamed into place, so a half-built
// tree is never used, and a changed package list rebuilds it. Package scripts
// start no daemon in it (policy-rc.d refuses).
import * as fs from "node:fs";
import * as path from "node:path";
import { must } from "./run";
import { renderExampleStacks } from "./render";

const CHECKER_DIR = "/var/lib/podkit/checker";
const CHECKER_TREE = path.join(CHECKER_DIR, "tree");
export const CHECKER_ROOT = path.join(CHECKER_TREE, "rootfs");
const MANIFEST = path.join(CHECKER_TREE, "manifest.json");

const SUITE = "bookworm";
const MIRROR = "http://deb.debian.org/debian";
const SECURITY_MIRROR = "http://deb.debian.org/debian-security";

/**
 * What every host has before any role runs, and what the checks need beside
 * the roles' packages: sshd (`sshd -t`), systemd (`systemd-analyze verify`),
 * openssl (the stand-in certificate), the CA bundle main.cf names.
 */
const HOST_PACKAGES = ["openssh-server", "systemd", "openssl", "ca-certificates"];

/** Bump when the build below changes, so cached trees are rebuilt. */
const LAYOUT = 2;

interface Wanted {
  layout: number;
  suite: string;
  mirror: string;
  packages: string[];
  debconf: string[];
}

/** The roles' packages and debconf answers over every example stack: the tree holds them all. */
function wanted(): Wanted {
  const states = renderExampleStacks().flatMap((h) => h.states);
  const packages = [...new Set([...HOST_PACKAGES, ...states.flatMap((s) => s.packages)])].sort();
  // One answer per question (the first stack's): answers like postfix/mailname differ per host.
  const debconf = new Map<string, string>();
  for (const line of states.flatMap((s) => s.debconf ?? [])) {
    const question = line.split(/\s+/).slice(0, 2).join(" ");
    if (!debconf.has(question)) debconf.set(question, line);
  }
  return { layout: LAYOUT, suite: SUITE, mirror: MIRROR, packages, debconf: [...debconf.values()].sort() };
}

function readManifest(): Wanted | null {
  try {
    return JSON.parse(fs.readFileSync(MANIFEST, "utf8"));
  } catch {
    return null;
  }
}

/** True when the cached tree exists (its manifest arrived with it) and was built from today's package list and layout. */
export function checkerRootIsCurrent(w: Wanted = wanted()): boolean {
  const m = readManifest();
  return m !== null && JSON.stringify(w) === JSON.stringify({ layout: m.layout, suite: m.suite, mirror: m.mirror, packages: m.packages, debconf: m.debconf });
}

/**
 * Makes sure a current checker root exists; builds it if not (a few minutes,
 * network needed). Returns the build time in ms, or null when the cache was used.
 */
export async function ensureCheckerRoot(log: (line: string) => void): Promise<number | null> {
  const w = wanted();
  if (checkerRootIsCurrent(w)) return null;
  const started = Date.now();
  fs.mkdirSync(CHECKER_DIR, { recursive: true });
  for (const entry of fs.readdirSync(CHECKER_DIR)) {
    if (entry.startsWith(".build-") || entry.startsWith(".old-")) fs.rmSync(path.join(CHECKER_DIR, entry), { recursive: true, force: true });
  }
  const build = fs.mkdtempSync(path.join(CHECKER_DIR, ".build-"));
  const root = path.join(build, "rootfs");
  log(`checker: building the checker root (debootstrap ${SUITE} and ${w.packages.length} packages, a few minutes, once) ...`);
  await must(["debootstrap", "--variant=minbase", "--components=main", SUITE, root, MIRROR]);
  await install(root, w);
  const buildMs = Date.now() - started;
  fs.writeFileSync(path.join(build, "manifest.json"), JSON.stringify({ ...w, builtAt: new Date().toISOString(), buildMs }, null, 2) + "\n");
  if (fs.existsSync(CHECKER_TREE)) {
    const old = path.join(CHECKER_DIR, `.old-${Date.now()}`);
    fs.renameSync(CHECKER_TREE, old);
    fs.renameSync(build, CHECKER_TREE);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(build, CHECKER_TREE);
  }
  log(`checker: checker root built in ${(buildMs / 1000).toFixed(1)} s`);
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
  fs.writeFileSync(at("etc/apt/sources.list"), `deb ${MIRROR} ${SUITE} main\ndeb ${MIRROR} ${SUITE}-updates main\ndeb ${SECURITY_MIRROR} ${SUITE}-security main\n`);
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
