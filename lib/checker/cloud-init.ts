// cloud-init's own schema check on user data, run in a release's checker root:
// the cloud-init a server boots with is the judge of its user data, as postfix
// is of main.cf. cloud-init 23.4 and later treat a schema error at boot as a
// recoverable error (`cloud-init status --wait` exits 2), so user data that
// fails here is a first boot that reports trouble.
// https://cloudinit.readthedocs.io/en/latest/reference/cli.html#schema
import * as fs from "node:fs";
import * as path from "node:path";
import { shellQuote as q } from "../ssh/shell";
import { run, type Ran } from "./run";

/** Python writes no bytecode into the root (its __pycache__ would land there). */
const ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root", PYTHONDONTWRITEBYTECODE: "1" };

/**
 * The root made read-only for the command alone, with `dirs` of it hidden
 * behind empty tmpfs mounts: what the command writes there goes nowhere, and
 * a write anywhere else fails instead of changing the shared checker root.
 */
function scratch(root: string, dirs: string[]): string[] {
  return [
    `mount --bind ${q(root)} ${q(root)}`,
    `mount -o remount,bind,ro ${q(root)}`,
    ...dirs.map((d) => `mount -t tmpfs tmpfs ${q(`${root}/${d}`)}`),
  ];
}

/**
 * `cloud-init schema --config-file` on `userData`, chrooted into `root`
 * without network. The file lives on a tmpfs mounted over the root's /tmp in a
 * mount namespace of the command's own, and what cloud-init writes under /run
 * goes to another: the root is never written.
 */
export async function cloudInitSchema(root: string, userData: string): Promise<Ran> {
  if (!fs.existsSync(`${root}/usr/bin/cloud-init`)) {
    throw new Error(`no cloud-init in the checker root ${root}: run scripts/setup.sh (it builds the checker roots)`);
  }
  const setup = [
    "ip link set lo up 2>/dev/null || true",
    // cloud-init 25.1 writes instance data under /run/cloud-init even for a schema check.
    ...scratch(root, ["tmp", "run"]),
    `mount -t proc proc ${q(`${root}/proc`)}`,
    `exec chroot ${q(root)} /bin/sh -c 'cat > /tmp/user-data && exec cloud-init schema --config-file /tmp/user-data'`,
  ].join(" && ");
  return run(["unshare", "--mount", "--net", "--fork", "/bin/sh", "-c", setup], {
    input: userData,
    env: ENV,
  });
}

/** What cloud-init's ssh module left after a first boot: host key files by name, and root's authorized_keys. */
export interface SshModuleOutcome {
  hostKeys: Record<string, string>;
  rootAuthorizedKeys: string | null;
}

/**
 * Runs the release's own cloud-init ssh module on `userData`, with `serverKeys`
 * as the keys the metadata service gives the server, over an /etc/ssh that
 * holds an image's keys of every type (cloud-init-ssh-module.py). /etc/ssh,
 * /root and /tmp are tmpfs mounts of the command's own: the root is never written.
 */
export async function runCloudInitSshModule(root: string, userData: string, serverKeys: string[]): Promise<SshModuleOutcome> {
  const driver = fs.readFileSync(path.join(__dirname, "cloud-init-ssh-module.py"), "utf8");
  const files = { "user-data": userData, "server-keys.json": JSON.stringify(serverKeys), "ssh-module.py": driver };
  const setup = [
    ...scratch(root, ["tmp", "run", "etc/ssh", "root"]),
    `mount -t proc proc ${q(`${root}/proc`)}`,
    // The files arrive as one JSON document on stdin; python in the root writes them out.
    `exec chroot ${q(root)} /usr/bin/python3 -c ${q(UNPACK)}`,
  ].join(" && ");
  const r = await run(["unshare", "--mount", "--net", "--fork", "/bin/sh", "-c", setup], {
    input: JSON.stringify(files),
    env: ENV,
  });
  const last = r.output.trim().split("\n").at(-1) ?? "";
  if (r.code !== 0 || !last.startsWith("{")) throw new Error(`cloud-init's ssh module did not run in ${root} (exit ${r.code}):\n${r.output}`);
  return JSON.parse(last) as SshModuleOutcome;
}

/** Writes the files from stdin into /tmp and runs the driver. */
const UNPACK = "import json,sys,runpy\nfor n,c in json.load(sys.stdin).items(): open('/tmp/'+n,'w').write(c)\nrunpy.run_path('/tmp/ssh-module.py', run_name='__main__')";
