// The base tree: one Debian bookworm root filesystem built by debootstrap and cached
// under LAB_DIR/base/tree. Every lab host is an overlay clone of it, so it must hold no
// per-host identity: no machine-id, no SSH host keys, no hostname.
// It is built in a temporary directory and renamed into place, so a half-built tree
// (an interrupted debootstrap) is never used; a changed package list rebuilds it.
import * as fs from "node:fs";
import * as path from "node:path";
import { $ } from "./sh";
import { BASE_PACKAGES, LAB, PATHS } from "./config";

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

function wanted(): Omit<Manifest, "builtAt" | "buildMs"> {
  return { layout: BASE_LAYOUT, suite: LAB.suite, mirror: LAB.mirror, packages: [...BASE_PACKAGES] };
}

function readManifest(): Manifest | null {
  try {
    return JSON.parse(fs.readFileSync(PATHS.baseManifest, "utf8")) as Manifest;
  } catch {
    return null;
  }
}

/** True when the cached tree exists and was built from today's package list and layout. */
export function baseIsCurrent(): boolean {
  const m = readManifest();
  const w = wanted();
  return (
    m !== null &&
    fs.existsSync(path.join(PATHS.baseRoot, "sbin", "init")) &&
    m.layout === w.layout &&
    m.suite === w.suite &&
    m.mirror === w.mirror &&
    m.packages.join(",") === w.packages.join(",")
  );
}

/** Build time of the cached tree (ms), for `status`. */
export function baseBuildMs(): number | null {
  return readManifest()?.buildMs ?? null;
}

/**
 * Makes sure a current base tree exists; builds it (~45 s) if not.
 * Returns the build time in ms, or null when the cached tree was used.
 * Must not run while clones are mounted on the old tree (`up` calls it before mounting).
 */
export async function ensureBase(log: (line: string) => void): Promise<number | null> {
  if (baseIsCurrent()) return null;
  const started = Date.now();
  fs.mkdirSync(PATHS.base, { recursive: true });
  // Leftovers of interrupted builds are never used; clear them.
  for (const entry of fs.readdirSync(PATHS.base)) {
    if (entry.startsWith(".build-") || entry.startsWith(".old-")) fs.rmSync(path.join(PATHS.base, entry), { recursive: true, force: true });
  }
  const build = fs.mkdtempSync(path.join(PATHS.base, ".build-"));
  const root = path.join(build, "rootfs");
  log(`lab: building the base tree (debootstrap ${LAB.suite}, about a minute, once) ...`);
  await $({ quiet: true })`debootstrap --variant=minbase --components=main --include=${BASE_PACKAGES.join(",")} ${LAB.suite} ${root} ${LAB.mirror}`;
  await customise(root);
  const buildMs = Date.now() - started;
  fs.writeFileSync(path.join(build, "manifest.json"), JSON.stringify({ ...wanted(), builtAt: new Date().toISOString(), buildMs }, null, 2) + "\n");
  // Swap in: old tree aside, new tree in place (one rename), old tree removed.
  if (fs.existsSync(PATHS.baseTree)) {
    const old = path.join(PATHS.base, `.old-${Date.now()}`);
    fs.renameSync(PATHS.baseTree, old);
    fs.renameSync(build, PATHS.baseTree);
    fs.rmSync(old, { recursive: true, force: true });
  } else {
    fs.renameSync(build, PATHS.baseTree);
  }
  log(`lab: base tree built in ${(buildMs / 1000).toFixed(1)} s`);
  return buildMs;
}

/** Strips identity out of the fresh tree and sets what every lab host shares. */
async function customise(root: string): Promise<void> {
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
    `deb ${LAB.mirror} ${LAB.suite} main\ndeb ${LAB.mirror} ${LAB.suite}-updates main\ndeb ${LAB.securityMirror} ${LAB.suite}-security main\n`,
  );
  // The lab writes /etc/resolv.conf itself (nspawn runs with --resolv-conf=off).
  fs.rmSync(at("etc/resolv.conf"), { force: true });
  await $({ quiet: true })`chroot ${root} apt-get clean`;
}
