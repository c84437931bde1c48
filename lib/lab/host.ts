// One lab host: an overlay clone of its release's base tree with its own identity, booted by
// systemd-nspawn on the lab bridge. Its whole life: prepareHost (mount + identity),
// bootHost (background boot loop), stopHost, removeHost.
// Traps from DESIGN.md "The lab" are handled here: own machine-id and host key per clone,
// 10-host0.network sorting before Debian's DHCP default with IPv6AcceptRA=no (else boot waits
// 13 s), --resolv-conf=off with our own resolv.conf, --register=no --keep-unit (no systemd
// outside), and a loop that boots again when the host reboots (nspawn exits 133).
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { $ } from "./sh";
import { LAB, type LabRelease, PATHS, anyLabHost, baseTreePaths, hostFqdn, hostNetwork, hostPaths } from "./config";
import { isAlive, logFile, pidFile, readPid, startDaemon, stopDaemon, stopPid } from "./proc";
import { APT_PROXY_FILE, aptProxyConf } from "./apt-cache";
import { labMetaData, makeCloudImage, pinnedByUserData, writeCloudInitSeed } from "./cloud-init-seed";

/** nspawn machine name; also names the bridge-side veth "vb-lab-<name>" (must stay under 15 chars). */
export function machineName(name: string): string {
  return `lab-${name}`;
}

async function isMounted(dir: string): Promise<boolean> {
  const mounts = fs.readFileSync("/proc/self/mounts", "utf8");
  return mounts.split("\n").some((l) => l.split(" ")[1] === dir);
}

/** Every lab overlay mount still present (for `down` after a crash and the teardown test). */
export function labMounts(): string[] {
  return fs
    .readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m && m.startsWith(PATHS.hosts + "/"));
}

/**
 * Mounts a fresh overlay clone of the `release` base tree for host `name` and writes its identity: machine-id, hostname,
 * static address, resolver, the lab's root key and a new ed25519 host key.
 * Returns the host public key line ("ssh-ed25519 AAAA... root@a.lab.test").
 * With `cloudInit`, the clone is a cloud image instead (see ./cloud-init-seed.ts): the
 * root key and the host key are cloud-init's to install at first boot from the user data
 * and meta-data, and the key returned is the one the user data pins.
 */
export async function prepareHost(name: string, address: string, labPublicKey: string, release: LabRelease, cloudInit?: { userData: string }): Promise<string> {
  const p = hostPaths(name);
  if (await isMounted(p.root)) throw new Error(`lab host ${name} is still mounted at ${p.root}; run \`podkit lab down\` first`);
  fs.rmSync(p.dir, { recursive: true, force: true }); // throwaway: every `up` starts from the base tree
  for (const d of [p.upper, p.work, p.root]) fs.mkdirSync(d, { recursive: true });
  await $({ quiet: true })`mount -t overlay overlay -o ${`lowerdir=${baseTreePaths(release).root},upperdir=${p.upper},workdir=${p.work}`} ${p.root}`;

  const at = (f: string) => path.join(p.root, f);
  const fqdn = hostFqdn(name);
  const net = networkOf(name);
  fs.writeFileSync(at("etc/machine-id"), randomBytes(16).toString("hex") + "\n", { mode: 0o444 });
  // A cloud server's names come from its user data, at first boot.
  if (!cloudInit) {
    fs.writeFileSync(at("etc/hostname"), `${name}\n`);
    fs.writeFileSync(at("etc/hosts"), `127.0.0.1\tlocalhost\n127.0.1.1\t${fqdn} ${name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  }
  fs.writeFileSync(at("etc/resolv.conf"), `# managed by podkit lab: the lab resolver\nnameserver ${LAB.gateway}\nsearch ${LAB.labZone}\n`);
  // Packages through the lab's shared cache: a fact of every lab host, cloud image or not (apt-cache.ts).
  fs.writeFileSync(at(APT_PROXY_FILE), aptProxyConf());
  fs.mkdirSync(at("etc/systemd/network"), { recursive: true });
  fs.writeFileSync(
    at("etc/systemd/network/10-host0.network"),
    [
      `# managed by podkit lab: static address on ${net.bridge}. Named 10- so it wins over`,
      "# Debian's 80-container-host0.network (DHCP); no RA, or boot waits ~13 s for IPv6.",
      "[Match]",
      "Name=host0",
      "",
      "[Network]",
      `Address=${address}/${net.prefixLength}`,
      `Gateway=${net.gateway}`,
      `DNS=${LAB.gateway}`,
      "IPv6AcceptRA=no",
      "LinkLocalAddressing=no",
      "",
    ].join("\n"),
  );
  if (cloudInit) {
    // A cloud server's first boot: an image with cloud-init and keys of its own, and the
    // user data that must replace them with the pinned key and let the deploy key (the lab's) in.
    await makeCloudImage(p.root);
    const { hostKey, hostname } = pinnedByUserData(cloudInit.userData);
    writeCloudInitSeed(p.root, { userData: cloudInit.userData, metaData: labMetaData(`lab-${name}-${randomBytes(4).toString("hex")}`, hostname, [labPublicKey]) });
    return hostKey;
  }
  fs.mkdirSync(at("root/.ssh"), { recursive: true, mode: 0o700 });
  fs.writeFileSync(at("root/.ssh/authorized_keys"), labPublicKey + "\n", { mode: 0o600 });
  // The host key is made here, outside, so the lab knows it before the host boots: it is pinned, never fetched.
  await $({ quiet: true })`ssh-keygen -q -t ed25519 -N ${""} -C ${`root@${fqdn}`} -f ${at("etc/ssh/ssh_host_ed25519_key")}`;
  return fs.readFileSync(at("etc/ssh/ssh_host_ed25519_key.pub"), "utf8").trim();
}

/** The bridge a lab host hangs off (a seat's, a fixed host's: the lab bridge; the edge's box: the NAT'd one). */
function networkOf(name: string) {
  const host = anyLabHost(name);
  return host ? hostNetwork(host) : LAB;
}

/**
 * Adds PEM certificates as trusted roots inside the clone, the way update-ca-certificates
 * would: a file in /usr/local/share/ca-certificates (kept by later runs of it), appended to
 * the bundle, and a hash link for OpenSSL's CApath lookups. Works before or after boot.
 */
export function trustInHost(name: string, certs: { name: string; pem: string; hash: string }[]): void {
  const at = (f: string) => path.join(hostPaths(name).root, f);
  const bundle = at("etc/ssl/certs/ca-certificates.crt");
  let text = fs.readFileSync(bundle, "utf8");
  for (const c of certs) {
    const file = `/usr/local/share/ca-certificates/${c.name}.crt`;
    fs.writeFileSync(at(file), c.pem);
    const link = at(`etc/ssl/certs/${c.name}.pem`);
    fs.rmSync(link, { force: true });
    fs.symlinkSync(file, link);
    const hashLink = at(`etc/ssl/certs/${c.hash}.0`);
    fs.rmSync(hashLink, { force: true });
    fs.symlinkSync(`${c.name}.pem`, hashLink);
    if (!text.includes(c.pem.trim())) text += (text.endsWith("\n") ? "" : "\n") + c.pem.trim() + "\n";
  }
  fs.writeFileSync(bundle, text);
}

/**
 * Boots the host in the background: a bash loop around systemd-nspawn that boots again
 * when the host reboots (exit 133) and stops on SIGTERM. Pid files: host-<name> (the loop)
 * and nspawn-<name> (the current nspawn).
 */
export function bootHost(name: string): void {
  const p = hostPaths(name);
  // --kill-signal=SIGKILL: on `down` nspawn kills the host's PID 1 at once instead of a clean
  // poweroff; hosts are throwaway, and it keeps `down` quick.
  // /dev/net/tun: what a real server has and userspace WireGuard (wireguard-go) needs; the
  // kernel here has no WireGuard module (lib/lab/README.md). Without a scope of nspawn's own
  // (--keep-unit, no systemd outside) no device policy keeps it out of the container.
  const nspawn = [
    "systemd-nspawn", "--quiet", "--boot", "--register=no", "--keep-unit", "--link-journal=no",
    `--network-bridge=${networkOf(name).bridge}`, "--bind=/dev/net/tun", "--resolv-conf=off", "--timezone=off", "--console=read-only",
    "--kill-signal=SIGKILL", `--machine=${machineName(name)}`, `--hostname=${name}`, `--directory=${p.root}`,
  ];
  // Each host's systemd gets a cgroup of its own. With --keep-unit and no systemd
  // outside (this kind of build machine), every nspawn would otherwise share the
  // caller's cgroup, and hosts booting at once clash over the same unit cgroups
  // (a unit failing with status=219/CGROUP). Only where the cgroup v1 "systemd"
  // and the hybrid "unified" hierarchies are mounted; elsewhere nspawn's own
  // placement stands.
  const cgroups = CGROUP_HIERARCHIES.map((h) => `[ -d /sys/fs/cgroup/${h} ] && mkdir -p '${labCgroup(h, name)}' && echo $$ > '${labCgroup(h, name)}/cgroup.procs'`).join("\n    ");
  const loop = `
    ${cgroups}
    stop=0; child=
    trap 'stop=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT
    while :; do
      ${nspawn.map((a) => `'${a}'`).join(" ")} &
      child=$!; echo "$child" > '${pidFile(`nspawn-${name}`)}'
      while kill -0 "$child" 2>/dev/null; do wait "$child"; rc=$?; done
      [ "$stop" = 1 ] && exit 0
      [ "$rc" = 133 ] || { echo "podkit lab: host ${name} exited with $rc"; exit "$rc"; }
      echo "podkit lab: host ${name} rebooted; booting it again"
    done`;
  startDaemon(`host-${name}`, "bash", ["-c", loop]);
}

export function hostRunning(name: string): boolean {
  const pid = readPid(`nspawn-${name}`);
  return pid !== null && isAlive(pid);
}

/** Stops the boot loop and its nspawn (which takes the host's processes with it). Safe when already stopped. */
export async function stopHost(name: string): Promise<void> {
  await stopDaemon(`host-${name}`, "SIGTERM", 5000);
  // If the loop died before its nspawn (a crash), stop nspawn directly.
  await stopDaemon(`nspawn-${name}`, "SIGTERM", 5000);
  // Last resort after a crash (nspawn itself killed): the host's processes outlive it. They
  // are found by their root mount, the clone's overlay (their /proc/PID/root reads "/", being
  // in another mount namespace, so the overlay's upperdir is what identifies them).
  for (const pid of hostProcesses(name)) await stopPid(pid, "SIGKILL", 1000);
}

/** Processes whose root filesystem is host `name`'s overlay clone. */
export function hostProcesses(name: string): number[] {
  const marker = `upperdir=${hostPaths(name).upper}`;
  const found: number[] = [];
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const rootMount = fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").split("\n").find((l) => l.split(" ")[4] === "/");
      if (rootMount?.includes(marker)) found.push(Number(pid));
    } catch {
      /* gone, or a kernel thread */
    }
  }
  return found;
}

const CGROUP_HIERARCHIES = ["systemd", "unified"];
const labCgroup = (hierarchy: string, name: string) => `/sys/fs/cgroup/${hierarchy}/podkit-lab/${name}`;

/** Removes the host's cgroups (bootHost): empty once its processes are gone. */
function removeCgroups(name: string): void {
  for (const h of CGROUP_HIERARCHIES) {
    const dir = labCgroup(h, name);
    if (!fs.existsSync(dir)) continue;
    // systemd's own cgroups below go first, deepest first; a cgroup is removed with rmdir only.
    const all: string[] = [];
    const walk = (d: string) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) { walk(path.join(d, e.name)); all.push(path.join(d, e.name)); } };
    try { walk(dir); } catch { /* raced with a cgroup going */ }
    for (const d of [...all, dir]) try { fs.rmdirSync(d); } catch { /* still busy, or gone */ }
  }
}

/** Unmounts and deletes the clone. Safe when already gone. */
export async function removeHost(name: string): Promise<void> {
  const p = hostPaths(name);
  removeCgroups(name);
  if (await isMounted(p.root)) {
    const r = await $({ quiet: true, nothrow: true })`umount ${p.root}`;
    if (r.exitCode !== 0) await $({ quiet: true })`umount --lazy ${p.root}`; // busy after a crash: detach now, freed when the last user goes
  }
  fs.rmSync(p.dir, { recursive: true, force: true });
}
