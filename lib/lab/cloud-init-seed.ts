// A lab host's first boot through the real cloud-init, fed as a Hetzner
// server is fed: the same user data, from a NoCloud seed in the host's own
// tree instead of Hetzner's metadata service. The lab's networkd already gives
// the host its address, so cloud-init is told to leave the network alone.
// https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { $ } from "./sh";

/** Where NoCloud looks for its seed, and the drop-in that makes it the only datasource. */
export const SEED_DIR = "var/lib/cloud/seed/nocloud";
export const LAB_CLOUD_CFG = "etc/cloud/cloud.cfg.d/90-podkit-lab.cfg";

export interface CloudInitSeed {
  /** The user data ("#cloud-config\n..."): it may carry a host's private key. */
  userData: string;
  /** NoCloud meta-data: at least `instance-id` (a new id is a new first boot). */
  metaData: string;
}

/** What a lab host's cloud-init reads besides the seed: only NoCloud, no network config of its own. */
export const LAB_CLOUD_CFG_TEXT = `# Managed by podkit (the lab). cloud-init reads its seed from ${`/${SEED_DIR}`}, as a Hetzner
# server reads its metadata service, and leaves the network to the lab's systemd-networkd.
datasource_list: [NoCloud]
network:
  config: disabled
`;

/** Writes the seed into the host tree at `root` (an overlay's upper or merged directory, before the host boots). */
export function writeCloudInitSeed(root: string, seed: CloudInitSeed): void {
  const at = (p: string) => path.join(root, p);
  fs.mkdirSync(at(SEED_DIR), { recursive: true, mode: 0o700 });
  // The user data holds the host key's private half: root alone reads it, as on a Hetzner server.
  writeAtomically(at(`${SEED_DIR}/user-data`), seed.userData, 0o600);
  writeAtomically(at(`${SEED_DIR}/meta-data`), seed.metaData, 0o600);
  fs.mkdirSync(path.dirname(at(LAB_CLOUD_CFG)), { recursive: true });
  writeAtomically(at(LAB_CLOUD_CFG), LAB_CLOUD_CFG_TEXT, 0o644);
}

/**
 * The meta-data a lab host needs: an instance id and its name, and the SSH keys the
 * server was created with (Hetzner's metadata service hands them as `public-keys`; for
 * a podkit server that is the deploy key alone, here the lab's key).
 */
export function labMetaData(instanceId: string, hostname: string, publicKeys: string[] = []): string {
  const keys = publicKeys.length ? `public-keys:\n${publicKeys.map((k) => `  - ${k}\n`).join("")}` : "";
  return `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n${keys}`;
}

/** The host key the user data pins (`ssh_keys.ed25519_public`), and the short host name it sets. */
export function pinnedByUserData(userData: string): { hostKey: string; hostname: string } {
  const doc = parse(userData) as { hostname?: string; ssh_keys?: { ed25519_public?: string } } | null;
  const hostKey = doc?.ssh_keys?.ed25519_public?.trim();
  if (!userData.startsWith("#cloud-config\n") || !hostKey || !doc?.hostname) {
    throw new Error("the user data is not podkit's first-boot cloud-config: it must start with #cloud-config and give hostname and ssh_keys.ed25519_public");
  }
  return { hostKey, hostname: doc.hostname };
}

/**
 * Makes a host tree what a cloud image is before its first boot: cloud-init installed
 * (with the lab's resolver and the mirror, in a chroot where no daemon may start), and
 * the host keys an image is shipped with, of every type, which the user data must have
 * cloud-init remove. Takes a minute: Debian's cloud-init brings Python.
 */
export async function makeCloudImage(root: string): Promise<void> {
  const policy = path.join(root, "usr/sbin/policy-rc.d");
  fs.writeFileSync(policy, "#!/bin/sh\n# podkit lab: no daemon starts while the image is made.\nexit 101\n", { mode: 0o755 });
  try {
    const script = [
      "set -eu",
      "mount -t proc proc /proc",
      "export DEBIAN_FRONTEND=noninteractive",
      "apt-get update -qq",
      "apt-get install -y -qq --no-install-recommends cloud-init >/dev/null",
      "apt-get clean",
      // An image's own keys, as a provider's image has them.
      "rm -f /etc/ssh/ssh_host_*",
      "ssh-keygen -A >/dev/null",
    ].join("\n");
    await $({ quiet: true })`unshare --mount --fork chroot ${root} /bin/sh -c ${script}`;
  } finally {
    fs.rmSync(policy, { force: true });
  }
}

/** Written aside and renamed, with its mode from the start: never a half-written or briefly readable file. */
function writeAtomically(file: string, content: string, mode: number): void {
  const tmp = `${file}.podkit-tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
