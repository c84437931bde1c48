// cloud-init's own schema check on user data, run in a release's checker root:
// the cloud-init a server boots with is the judge of its user data, as postfix
// is of main.cf. cloud-init 23.4 and later treat a schema error at boot as a
// recoverable error (`cloud-init status --wait` exits 2), so user data that
// fails here is a first boot that reports trouble.
// https://cloudinit.readthedocs.io/en/latest/reference/cli.html#schema
import * as fs from "node:fs";
import { shellQuote as q } from "../ssh/shell";
import { run, type Ran } from "./run";

/**
 * `cloud-init schema --config-file` on `userData`, chrooted into `root`
 * without network. The file lives on a tmpfs mounted over the root's /tmp in a
 * mount namespace of the command's own: the root is never written.
 */
export async function cloudInitSchema(root: string, userData: string): Promise<Ran> {
  if (!fs.existsSync(`${root}/usr/bin/cloud-init`)) {
    throw new Error(`no cloud-init in the checker root ${root}: run scripts/setup.sh (it builds the checker roots)`);
  }
  const setup = [
    "ip link set lo up 2>/dev/null || true",
    `mount -t tmpfs tmpfs ${q(`${root}/tmp`)}`,
    `mount -t proc proc ${q(`${root}/proc`)}`,
    `exec chroot ${q(root)} /bin/sh -c 'cat > /tmp/user-data && exec cloud-init schema --config-file /tmp/user-data'`,
  ].join(" && ");
  return run(["unshare", "--mount", "--net", "--fork", "/bin/sh", "-c", setup], {
    input: userData,
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root" },
  });
}
