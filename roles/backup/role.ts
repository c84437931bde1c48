// backup: restic to the offsite target named in the stack, encrypted with the
// stack's passphrase; a consistent copy of mailboxes, sieve scripts, chat data
// and the DKIM key; daily backup and check timers; a mail to the postmaster
// when either fails; status files for a health check. Restores go through the
// same script (`podkit restore`).
import type { Role, RoleContext } from "../../lib/converge/role";
import { renderTemplate } from "../../lib/converge/template";
import { shellQuote } from "../../lib/ssh/shell";
import type { FileSpec, HandlerSpec, RoleState } from "../../lib/converge/types";
import { postmaster } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";

/** Where the consistent copy is staged before restic reads it, and where status files live. */
export const BACKUP_PATHS = {
  stage: "/var/backups/podkit",
  state: "/var/lib/podkit/backup",
  conf: "/etc/podkit/backup",
  script: "/usr/local/sbin/podkit-backup",
  pinHostKey: "/usr/local/sbin/podkit-backup-pin-host-key",
} as const;

/** The check runs this long after the backup starts: a day's backup is done by then (and they share a lock anyway). */
const CHECK_DELAY_HOURS = 2;

const UNITS = ["podkit-backup.service", "podkit-backup.timer", "podkit-backup-check.service", "podkit-backup-check.timer", "podkit-backup-failed@.service"];

export const backup: Role = {
  name: "backup",
  after: {
    mail: "it copies the mailboxes the mail role keeps",
    xmpp: "it copies the chat data Prosody keeps",
  },
  appliesTo: (stack, host) => stack.backup?.host === host,
  ports: [], // outbound only (SFTP or REST to the target)
  removal: {
    stop: ["podkit-backup.timer", "podkit-backup-check.timer"],
    remove: [BACKUP_PATHS.script, BACKUP_PATHS.pinHostKey, ...UNITS.map((u) => `/etc/systemd/system/${u}`), BACKUP_PATHS.conf, BACKUP_PATHS.stage],
    keeps: "the snapshots at the target: they are the pod's history, deleted only by retention (podkit backup --prune)",
  },
  state(ctx: RoleContext): RoleState {
    const { stack, fqdn } = ctx;
    const b = stack.backup!;
    const sftp = b.target.sftp;
    const keyFile = `${BACKUP_PATHS.conf}/id_ed25519`;
    const knownHosts = `${BACKUP_PATHS.conf}/known_hosts`;
    const view = {
      fqdn, postmaster: postmaster(stack),
      stage: BACKUP_PATHS.stage, state: BACKUP_PATHS.state,
      schedule: b.schedule,
      checkAt: checkTime(b.schedule),
      checkDelay: `${CHECK_DELAY_HOURS} h`,
      // One single-quoted shell word in the script: restic splits it, no shell reads the stack's host or user.
      sftpCommand: sftp
        ? shellQuote(`ssh -p ${sftp.port} -i ${keyFile} -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes ${sftp.user}@${sftp.host} -s sftp`)
        : false,
    };
    const t = (path: string, more: object = {}) => renderTemplate("backup", path, { ...view, ...more }, ctx.profile.release);
    const files: FileSpec[] = [
      { path: BACKUP_PATHS.script, mode: 0o755, content: t("usr/local/sbin/podkit-backup") },
      ...UNITS.map((u) => ({ path: `/etc/systemd/system/${u}`, content: t(`etc/systemd/system/${u}`) })),
      { path: `${BACKUP_PATHS.conf}/passphrase`, mode: 0o600, secret: true, content: `${ctx.secret(b.passphrase.secret)}\n` },
      { path: `${BACKUP_PATHS.conf}/repository`, mode: 0o600, secret: true, content: repositoryFile(ctx) },
    ];
    const handlers: HandlerSpec[] = [
      { name: "systemctl daemon-reload", when: UNITS.map((u) => `/etc/systemd/system/${u}`), run: "systemctl daemon-reload" },
    ];
    if (sftp) {
      handlers.push({
        name: "backup SSH key", when: [], unless: `test -s ${keyFile}`,
        run: `ssh-keygen -q -t ed25519 -N '' -C ${shellQuote(`backup@${fqdn}`)} -f ${keyFile} && echo ${shellQuote(`add this key at ${sftp.host}:`)} "$(cat ${keyFile}.pub)"`,
      });
      if (sftp.hostKey.startsWith("SHA256:")) {
        // A fingerprint pin: fetch the key, and keep it only if it is the pinned one.
        files.push({ path: BACKUP_PATHS.pinHostKey, mode: 0o755, content: t("usr/local/sbin/podkit-backup-pin-host-key", { ...sftp, knownHosts, quoted: { host: shellQuote(sftp.host), hostKey: shellQuote(sftp.hostKey) } }) });
        handlers.push({ name: "pin the SFTP host key", when: [], unless: `test -s ${knownHosts}`, run: BACKUP_PATHS.pinHostKey });
      } else {
        files.push({ path: knownHosts, content: `[${sftp.host}]:${sftp.port} ${sftp.hostKey}\n` });
      }
    }
    return {
      role: "backup",
      packages: ["restic", "rsync", ...(sftp ? ["openssh-client"] : [])],
      dirs: [
        { path: BACKUP_PATHS.conf, mode: 0o700 },
        // Traversable so Dovecot's vmail user reaches its own (0700) part of the copy.
        { path: BACKUP_PATHS.stage, mode: 0o711 },
        { path: BACKUP_PATHS.state, mode: 0o755 },
      ],
      files,
      handlers,
      services: [
        { unit: "podkit-backup.timer", watch: ["/etc/systemd/system/podkit-backup.timer"], onChange: "restart" },
        { unit: "podkit-backup-check.timer", watch: ["/etc/systemd/system/podkit-backup-check.timer"], onChange: "restart" },
      ],
    };
  },
};

/** "03:30" -> "05:30": the check's time of day. */
export function checkTime(schedule: string): string {
  const [h, m] = schedule.split(":").map(Number);
  return `${String((h + CHECK_DELAY_HOURS) % 24).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** The restic repository with the pod's own (append-only) login; never the prune login. */
export function repositoryUrl(stack: Stack, secret: (name: string) => string): string {
  const target = stack.backup!.target;
  if (target.sftp) return `sftp:${target.sftp.user}@${target.sftp.host}:${target.sftp.path}`;
  const rest = target.rest!;
  const url = new URL(rest.url);
  if (rest.username && rest.password) {
    url.username = encodeURIComponent(rest.username);
    url.password = encodeURIComponent(secret(rest.password.secret));
  }
  return `rest:${url.toString().replace(/\/$/, "")}`;
}

function repositoryFile(ctx: RoleContext): string {
  return [
    "# Managed by podkit (role backup): the restic repository, with the pod's own login (root only).",
    `export RESTIC_REPOSITORY=${shellQuote(repositoryUrl(ctx.stack, ctx.secret))}`,
    "",
  ].join("\n");
}
