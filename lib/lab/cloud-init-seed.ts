// A lab host's first boot through the real cloud-init, fed as a Hetzner
// server is fed: the same user data, from a NoCloud seed in the host's own
// tree instead of Hetzner's metadata service. The lab's networkd already gives
// the host its address, so cloud-init is told to leave the network alone.
// https://cloudinit.readthedocs.io/en/latest/reference/datasources/nocloud.html
import * as fs from "node:fs";
import * as path from "node:path";

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

/** The meta-data a lab host needs: an instance id and its name. */
export function labMetaData(instanceId: string, hostname: string): string {
  return `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`;
}

/** Written aside and renamed, with its mode from the start: never a half-written or briefly readable file. */
function writeAtomically(file: string, content: string, mode: number): void {
  const tmp = `${file}.podkit-tmp`;
  fs.writeFileSync(tmp, content, { mode });
  fs.chmodSync(tmp, mode);
  fs.renameSync(tmp, file);
}
