// `podkit restore <stack> [--snapshot ID]`: put a snapshot back on the pod's
// host: services stopped, mailboxes and chat data restored, ownership fixed,
// services started. Run `podkit apply` first: the stack makes the host, the
// backup brings the data.
import { BACKUP_PATHS } from "../../../roles/backup/role";
import { parse } from "../args";
import { COMMON_OPTIONS, loadBackupPod, openBackupHost, secs, withBackupHost } from "../backup-host";
import { whose } from "../converge-report";
import { EXIT, UsageError } from "../exit";
import { shellQuote } from "../../ssh/shell";
import { withStackErrors } from "../report";

const HELP = `usage: podkit restore <stack.yaml> --snapshot ID [--secrets FILE] [-i KEY] [--lock-wait S]

Restores snapshot ID (from \`podkit backup <stack> --list\`, with its time) on the
backup host, once it has checked that ID is one of this pod's own backups (its
host, its tag, its paths). podkit does not pick one for you: a pod that was
broken into holds the same append-only login as its schedule and could have
written the newest snapshot; choose one from before anything went wrong. It then
stops Postfix, Dovecot and Prosody, puts back mailboxes, sieve scripts and chat data (accounts and passwords stay as the stack says), fixes
ownership and starts them again. Mail delivered since the rebuild is kept.
Refuses when the host is not applied yet: run \`podkit apply <stack>\` first.
Holds the host's lock, as apply does: waits for another run up to --lock-wait
seconds (120).
Exit: 0 restored, 1 refused or failed, 64 no snapshot named, 65 invalid stack,
69 host unreachable, 75 another run held the host too long.`;

const OPTIONS = { ...COMMON_OPTIONS, snapshot: { type: "string" } } as const;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, OPTIONS, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  const { values } = args;
  if (values.snapshot === undefined) throw new UsageError(`name the snapshot to restore: --snapshot ID (podkit backup ${args.positionals[0] ?? "<stack>"} --list shows them, with their times)\n\n${HELP}`);
  if (!/^[0-9a-f]{8,64}$/.test(values.snapshot)) throw new UsageError(`--snapshot: "${values.snapshot}" is not a snapshot id (see podkit backup <stack> --list)`);
  const file = args.positionals[0];
  const snapshot = values.snapshot;
  return withStackErrors(() => withBackupHost(async () => {
    const pod = loadBackupPod(file, values.secrets);
    const session = await openBackupHost(pod, file, values.identity, { what: "restore", wait: values["lock-wait"] });
    const t = Date.now();
    try {
      const r = await session.run(`${BACKUP_PATHS.script} restore ${shellQuote(snapshot)} 2>&1`);
      const who = whose(pod.stack.pod, session.target.name);
      for (const line of r.stdout.trim().split("\n").filter((l) => l)) console.log(`${who} restore: ${line}`);
      console.log(`${who}: restore ${r.code === 0 ? "done" : "FAILED"} in ${secs(Date.now() - t)}`);
      if (r.code !== 0) console.log(`  next: podkit backup ${file} --list   (the pod's snapshots, with their times; the log above says what failed)`);
      return r.code === 0 ? EXIT.OK : EXIT.FAILED;
    } finally {
      session.close();
    }
  }));
}
