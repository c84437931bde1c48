// What `podkit backup` and `podkit restore` share: the stack's backup host,
// reached like `podkit apply` reaches it (host key pinned), and the check that
// the backup role is there before anything is asked of it.
import { planWork } from "../converge/pod";
import { HostBusy, lockHost, thisRun } from "../converge/host-lock";
import { Session } from "../converge/ssh";
import { lockWaitOption } from "./args";
import { loadPod, type Pod } from "../stack/pod";
import { BACKUP_PATHS } from "../../roles/backup/role";
import { EXIT, UsageError } from "./exit";
import { hostProviders } from "./hosts";

export const COMMON_OPTIONS = {
  json: { type: "boolean" },
  secrets: { type: "string" },
  identity: { type: "string", short: "i" },
  "lock-wait": { type: "string" },
} as const;

export class NotApplied extends Error {}

export function loadBackupPod(file: string, secretsFile?: string): Pod {
  const pod = loadPod(file, { providers: hostProviders(), secretsFile, requireSecrets: true });
  if (!pod.stack.backup) throw new UsageError(`${file} has no backup section: nothing to back up or restore`);
  return pod;
}

/**
 * Opens the backup host and takes its lock (the one apply takes: a backup or
 * a restore never runs while an apply reloads the daemons it stops); throws
 * NotApplied (with what to do) when the backup role is not on it yet, and
 * HostBusy when another run holds it past `lock.wait` seconds. Without
 * `lock` (a listing only reads) it waits for nobody. Closing the session
 * lets the lock go.
 */
export async function openBackupHost(pod: Pod, file: string, identity: string | undefined, lock?: { what: "backup" | "restore"; wait?: string }): Promise<Session> {
  const [work] = planWork(pod, { hosts: [pod.stack.backup!.host], roles: ["backup"], identity });
  const session = await Session.open(work.target);
  try {
    if (lock) await lockHost(session, { holder: thisRun(lock.what), waitS: lockWaitOption(lock.wait), say: (line) => console.error(`podkit: ${line}`) });
  } catch (err) {
    session.close();
    throw err;
  }
  const r = await session.run(`test -x ${BACKUP_PATHS.script} && systemctl cat podkit-backup.service >/dev/null 2>&1 && test -f /etc/dovecot/users`);
  if (r.code !== 0) {
    session.close();
    throw new NotApplied(`${work.host} (${work.target.address}) is not applied yet (no backup role, or no mail role, on it): run \`podkit apply ${file}\` first`);
  }
  return session;
}

/** Runs a command body; a host that is not applied is a clear refusal (exit 1), an unreachable one exit 69. */
export async function withBackupHost(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof NotApplied) {
      console.error(`podkit: ${err.message}`);
      return EXIT.FAILED;
    }
    if (err instanceof HostBusy) {
      console.error(`podkit: ${err.message}`);
      return EXIT.TEMPFAIL;
    }
    if (err instanceof Error && /cannot connect over SSH|does not match the pinned/.test(err.message)) {
      console.error(`podkit: ${err.message}`);
      return EXIT.UNAVAILABLE;
    }
    throw err;
  }
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
