// What `podkit backup` and `podkit restore` share: the stack's backup host,
// reached like `podkit apply` reaches it (host key pinned), and the check that
// the backup role is there before anything is asked of it.
import { planWork } from "../converge/pod";
import { Session } from "../converge/ssh";
import { loadPod, type Pod } from "../stack/pod";
import { BACKUP_PATHS } from "../../roles/backup/role";
import { EXIT, UsageError } from "./exit";
import { hostProviders } from "./hosts";

export const COMMON_OPTIONS = {
  json: { type: "boolean" },
  secrets: { type: "string" },
  identity: { type: "string", short: "i" },
} as const;

export class NotApplied extends Error {}

export function loadBackupPod(file: string, secretsFile?: string): Pod {
  const pod = loadPod(file, { providers: hostProviders(), secretsFile, requireSecrets: true });
  if (!pod.stack.backup) throw new UsageError(`${file} has no backup section: nothing to back up or restore`);
  return pod;
}

/** Opens the backup host; throws NotApplied (with what to do) when the backup role is not on it yet. */
export async function openBackupHost(pod: Pod, file: string, identity?: string): Promise<Session> {
  const [work] = planWork(pod, { hosts: [pod.stack.backup!.host], roles: ["backup"], identity });
  const session = await Session.open(work.target);
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
    if (err instanceof Error && /cannot connect over SSH|does not match the pinned/.test(err.message)) {
      console.error(`podkit: ${err.message}`);
      return EXIT.UNAVAILABLE;
    }
    throw err;
  }
}

export const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
