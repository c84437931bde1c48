// `podkit backup <stack>`: run the pod's backup now, list its snapshots, check
// the repository, or prune it with the separate prune login (from this machine).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readLabState } from "../../lab/state";
import { BACKUP_PATHS } from "../../../roles/backup/role";
import { parse } from "../args";
import { COMMON_OPTIONS, loadBackupPod, openBackupHost, secs, withBackupHost } from "../backup-host";
import { whose } from "../converge-report";
import { EXIT, UsageError } from "../exit";
import { withStackErrors } from "../report";

const HELP = `usage: podkit backup <stack.yaml> [--list | --check | --prune] [--json] [--secrets FILE] [-i KEY] [--lock-wait S]

Without options: runs the pod's backup now on the backup host (the same unit
the daily timer starts: a failure mails the postmaster) and shows the result.
  --list    the repository's snapshots (--json: restic's JSON)
  --check   run the repository check now (restic check, a seventh of the data)
  --prune   apply backup.retention (restic forget --prune) from THIS machine with
            backup.target.rest.prune's login, which never reaches the pod;
            needs restic here (scripts/setup.sh installs it)
It takes the host's lock as apply does: while another podkit run (an apply, a
restore) holds the host it waits, naming it, up to --lock-wait seconds (120).
Exit: 0 ok, 1 the backup, check or prune failed (or the pod is not applied yet),
65 invalid stack, 69 host unreachable, 75 another run held the host too long.`;

const OPTIONS = { ...COMMON_OPTIONS, list: { type: "boolean" }, check: { type: "boolean" }, prune: { type: "boolean" } } as const;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, OPTIONS, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  const { values } = args;
  if ([values.list, values.check, values.prune].filter(Boolean).length > 1) throw new UsageError(`choose one of --list, --check, --prune\n\n${HELP}`);
  const file = args.positionals[0];
  return withStackErrors(() => withBackupHost(async () => {
    const pod = loadBackupPod(file, values.secrets);
    if (values.prune) return prune(pod);
    // --list only reads: it does not wait for an apply.
    const session = await openBackupHost(pod, file, values.identity, values.list ? undefined : { what: "backup", wait: values["lock-wait"] });
    try {
      if (values.list) {
        const r = await session.run(`${BACKUP_PATHS.script} snapshots${values.json ? " --json" : ""}`);
        process.stdout.write(`${r.stdout}\n`);
        if (r.code !== 0) console.error(r.stderr.trim());
        return r.code === 0 ? EXIT.OK : EXIT.FAILED;
      }
      const t = Date.now();
      // Starts the unit and waits for it (a oneshot); the log of this one run is the result.
      const r = await session.run(`${BACKUP_PATHS.script} now${values.check ? " check" : ""}`);
      const ok = r.code === 0;
      if (values.json) console.log(JSON.stringify({ ok, seconds: (Date.now() - t) / 1000, log: r.stdout.trim().split("\n") }, null, 2));
      else {
        // The run's log, each line naming pod and host like apply's; the result last.
        const who = whose(pod.stack.pod, session.target.name);
        const what = values.check ? "check" : "backup";
        for (const line of r.stdout.trim().split("\n").filter((l) => l)) console.log(`${who} ${what}: ${line}`);
        console.log(`${who}: ${what} ${ok ? "succeeded" : "FAILED (the postmaster gets a mail)"} in ${secs(Date.now() - t)}`);
        if (!ok) console.log(`  next: podkit backup ${file} --list   (what the repository holds; the log above says what failed)`);
      }
      return ok ? EXIT.OK : EXIT.FAILED;
    } finally {
      session.close();
    }
  }));
}

/**
 * restic forget --prune with the prune login, run here: that login is never on
 * the pod. Neither it nor the passphrase is ever in restic's argument list
 * (which every user of this machine can read in ps) or in its environment:
 * restic reads the repository URL, with the login, and the passphrase from two
 * files of mode 0600 in a private directory of mode 0700 (--repository-file,
 * --password-file), removed as soon as restic has ended. (Node's stdio "pipes"
 * are sockets, which restic cannot open by /dev/fd path.)
 */
function prune(pod: ReturnType<typeof loadBackupPod>): number {
  const b = pod.stack.backup!;
  const login = b.target.rest?.prune;
  if (!login) {
    console.error("podkit backup --prune: needs backup.target.rest.prune (a login that may delete); the pod's own login is append-only");
    return EXIT.FAILED;
  }
  const url = new URL(login.url ?? b.target.rest!.url);
  url.username = encodeURIComponent(login.username);
  url.password = encodeURIComponent(pod.secrets.get(login.password.secret)!);
  // A lab target's certificate comes from the lab CA, which this machine does not trust system-wide.
  const lab = Object.values(pod.stack.hosts).some((h) => h.lab) ? readLabState() : null;
  const dir = mkdtempSync(join(tmpdir(), "podkit-prune-"));
  try {
    const repositoryFile = join(dir, "repository");
    const passwordFile = join(dir, "password");
    writeFileSync(repositoryFile, `rest:${url.toString().replace(/\/$/, "")}\n`, { mode: 0o600 });
    writeFileSync(passwordFile, `${pod.secrets.get(b.passphrase.secret)}\n`, { mode: 0o600 });
    const args = [
      "--repository-file", repositoryFile, "--password-file", passwordFile, ...(lab ? ["--cacert", lab.acme.trustBundlePath] : []),
      "forget", "--prune", "--keep-daily", String(b.retention.daily), "--keep-weekly", String(b.retention.weekly), "--keep-monthly", String(b.retention.monthly),
    ];
    // Nothing of the pod's secrets in restic's environment either (PODKIT_SECRET_*, a RESTIC_PASSWORD set by hand).
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(RESTIC_|PODKIT_SECRET_)/.test(k)));
    const r = spawnSync("restic", args, { stdio: "inherit", env });
    if (r.error) {
      console.error(`podkit backup --prune: cannot run restic here (${r.error.message}): \`bash scripts/setup.sh\` installs it (or apt install restic)`);
      return EXIT.FAILED;
    }
    return r.status === 0 ? EXIT.OK : EXIT.FAILED;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
