// One rendered host, brought up in a throwaway overlay of its release's checker root as
// it is after `podkit apply`: the roles' users, directories and files in
// place, with their modes and owners, plus what only a live host has (its
// certificate). Each role's checkers then run exactly as apply runs them:
// converge's checkScript stages the role's files over live copies of what the
// checkers read. Commands run chrooted, without network, in a private mount
// namespace, so no mount outlives a command and nothing leaves the temporary
// directory.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { groupOf, modeOf, ownerOf, type FileChange } from "../converge/changes";
import { shellQuote as q } from "../ssh/shell";
import { checkScript, groupsScript, usersScript } from "../converge/scripts";
import type { CheckSpec, RoleState } from "../converge/types";
import { certPaths } from "../../roles/tls/role";
import type { RenderedHost } from "./render";
import { checkerRootOf } from "./root";
import { run, type Ran } from "./run";

/** Unit files systemd can verify, wherever a role installs them. */
const UNIT_FILE = /^\/etc\/systemd\/system\/[^/]+\.(service|socket|timer|path|mount|target)$/;

export interface HostRoot {
  /** Runs one role's checkers on a staged copy of `state`'s files. */
  check(state: RoleState): Promise<CheckOutcome>;
  /** Runs a shell script as root inside the host. */
  sh(script: string): Promise<Ran>;
}

export interface CheckOutcome {
  ok: boolean;
  /** The checker that refused (from converge's CHECK line). */
  refused?: string;
  /** Everything the check script printed: the refusing daemon's own message. */
  output: string;
  /** Names of the checks that ran. */
  checks: string[];
}

/** Brings `host` up in a fresh overlay, runs `fn` on it, removes the overlay whatever happened. */
export async function withHostRoot<T>(host: RenderedHost, fn: (root: HostRoot) => Promise<T>): Promise<T> {
  const lower = checkerRootOf(host.release);
  if (!fs.existsSync(lower)) {
    throw new Error(`no ${host.release} checker root at ${lower}: run \`node --import tsx scripts/checker-root.ts\` (scripts/test.sh builds it once)`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "podkit-checker-"));
  for (const d of ["upper", "work", "merged"]) fs.mkdirSync(path.join(dir, d));
  const sh = (script: string) => inRoot(lower, dir, script);
  try {
    const ready = await sh(hostScript(host));
    if (ready.code !== 0) throw new Error(`${host.stack} ${host.host} (${host.release}): setting up the host failed:\n${ready.output}`);
    new Layer(lower, path.join(dir, "upper")).place(host.states);
    return await fn({ sh, check: (state) => checkRole(sh, state) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The overlay, /dev and /proc exist only in the command's own mount namespace,
 * and its network is loopback only: a checker that reaches out fails here.
 */
function inRoot(lower: string, dir: string, script: string): Promise<Ran> {
  const m = path.join(dir, "merged");
  const setup = [
    "ip link set lo up",
    `mount -t overlay overlay -o lowerdir=${lower},upperdir=${dir}/upper,workdir=${dir}/work ${m}`,
    `mount --rbind /dev ${m}/dev`,
    `mount -t proc proc ${m}/proc`,
    `exec chroot ${m} /bin/bash -s`,
  ].join(" && ");
  return run(["unshare", "--mount", "--net", "--fork", "/bin/sh", "-c", setup], {
    input: script,
    env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", HOME: "/root" },
  });
}

/**
 * What the roles' packages do not make and the files need, run before they
 * are placed: the roles' system users (converge's own script), removed
 * package files, the roles' system groups, what systemd makes in /run on a booted host for sshd, and
 * the certificate the tls role would have obtained, here self-signed. The
 * resolver is loopback, where nothing answers: a lookup fails at once
 * instead of waiting for the build machine's resolver to time out.
 */
function hostScript(host: RenderedHost): string {
  const cert = certPaths(host.fqdn);
  return [
    "echo 'nameserver 127.0.0.1' > /etc/resolv.conf",
    usersScript(host.states.flatMap((s) => s.users ?? [])),
    groupsScript(host.states.flatMap((s) => s.groups ?? [])),
    ...host.states.flatMap((s) => s.absent ?? []).map((p) => `rm -f ${q(p)}`),
    "install -d -m 755 /run/sshd",
    `mkdir -p "$(dirname ${q(cert.fullchain)})"`,
    `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=${host.fqdn} -keyout ${q(cert.key)} -out ${q(cert.fullchain)} 2>/dev/null`,
  ].join("\n");
}

/**
 * The overlay's upper layer, written directly: a few dozen files a host
 * would have after apply, without the few hundred processes converge's
 * commit script spends on them. A directory made here that the lower tree
 * has keeps that one's mode and owner, as an overlay copy-up would.
 */
class Layer {
  private readonly users: Map<string, number>;
  private readonly groups: Map<string, number>;

  constructor(private readonly lower: string, private readonly upper: string) {
    this.users = this.ids("etc/passwd");
    this.groups = this.ids("etc/group");
  }

  place(states: RoleState[]): void {
    for (const s of states) {
      for (const d of s.dirs ?? []) {
        this.parents(d.path);
        const at = this.at(d.path);
        fs.mkdirSync(at, { recursive: true });
        this.own(at, d.mode ?? 0o755, d);
      }
      for (const f of s.files) {
        this.parents(f.path);
        const at = this.at(f.path);
        fs.writeFileSync(at, f.content);
        this.own(at, modeOf(f), f);
      }
    }
  }

  private at(p: string): string {
    return path.join(this.upper, p);
  }

  /** name -> id from the upper layer's copy of a passwd-style file (useradd wrote it), else the lower one. */
  private ids(file: string): Map<string, number> {
    const up = path.join(this.upper, file);
    const text = fs.readFileSync(fs.existsSync(up) ? up : path.join(this.lower, file), "utf8");
    return new Map(text.split("\n").filter(Boolean).map((l) => l.split(":")).map((f) => [f[0], Number(f[2])]));
  }

  private own(at: string, mode: number, who: { owner?: string; group?: string }): void {
    const uid = this.users.get(ownerOf(who));
    const gid = this.groups.get(groupOf(who));
    if (uid === undefined || gid === undefined) throw new Error(`no user ${ownerOf(who)} or group ${groupOf(who)} for ${at}`);
    fs.chownSync(at, uid, gid);
    fs.chmodSync(at, mode);
  }

  private parents(p: string): void {
    const parts = path.dirname(p).split("/").filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join("/");
      const up = path.join(this.upper, rel);
      if (fs.existsSync(up)) continue;
      const below = fs.lstatSync(path.join(this.lower, rel), { throwIfNoEntry: false });
      if (below?.isSymbolicLink()) throw new Error(`/${rel} is a symlink in the checker root; a file under it cannot be placed`);
      fs.mkdirSync(up);
      if (below) {
        fs.chownSync(up, below.uid, below.gid);
        fs.chmodSync(up, below.mode & 0o7777);
      } else {
        fs.chmodSync(up, 0o755);
      }
    }
  }
}

const asChanged = (state: RoleState): FileChange[] => state.files.map((file) => ({ file, reason: "new" }));

/** The role's own checkers, and `systemd-analyze verify` for the unit files it installs. */
function checksOf(state: RoleState): CheckSpec[] {
  const units = state.files.map((f) => f.path).filter((p) => UNIT_FILE.test(p));
  const verify: CheckSpec[] = units.length
    ? [{ name: "systemd-analyze verify", reads: units, run: `systemd-analyze verify --man=no ${units.map((u) => `{stage}${u}`).join(" ")}` }]
    : [];
  return [...(state.checks ?? []), ...verify];
}

async function checkRole(sh: (script: string) => Promise<Ran>, state: RoleState): Promise<CheckOutcome> {
  const checks = checksOf(state);
  const r = await sh(checkScript(state.role, asChanged(state), checks, state.absent ?? []));
  const refused = r.output.match(/^CHECK (.*)$/m)?.[1];
  return { ok: r.code === 0, refused, output: r.output, checks: checks.map((c) => c.name) };
}
