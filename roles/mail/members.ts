// Member-owned accounts (issue 17): an account with no password in the stack.
// Its member sets the password through an invite; the hash lives on the mail
// host only (/var/lib/podkit/members/passwords, written by the root daemon
// podkit-member), and the member's mail is encrypted at rest with a key pair
// whose private key only that password unlocks (Dovecot mail_crypt).
// This file holds the names the mail role, the daemon and the other roles share,
// and the Dovecot userdb entries of those accounts.
import type { RoleContext } from "../../lib/converge/role";
import type { FileSpec, HandlerSpec } from "../../lib/converge/types";
import { mustRelease } from "../../lib/stack/releases";
import type { Stack } from "../../lib/stack/schema";

/** The members' credential store: root:podkit-members 0750. */
export const MEMBERS_DIR = "/var/lib/podkit/members";
/** Dovecot passwd-file lines `address:{SCRAM-SHA-256}...`, one per member who has set a password. */
export const MEMBER_PASSWORDS = `${MEMBERS_DIR}/passwords`;
/** `<sha256 hex of token>.json` per open invite; root only. */
export const MEMBER_INVITES = `${MEMBERS_DIR}/invites`;
/** Who may read the passwords and talk to the daemon: dovecot, prosody, the account page's user. */
export const MEMBERS_GROUP = "podkit-members";
/** The root daemon (invite, redeem, change over its socket; invite-add, status, prune for root). */
export const MEMBER_DAEMON = "/usr/local/sbin/podkit-member";
export const MEMBER_UNIT = "podkit-member.service";
export const MEMBER_SOCKET = "/run/podkit-member/member.sock";
/**
 * Dovecot's userdb entries of member-owned accounts, from the stack: quota and
 * the setting that encrypts their mail. No password field is ever empty: the
 * field holds a crypt value no password matches, and no passdb reads the file.
 */
export const MEMBER_USERDB = "/etc/dovecot/members";
/**
 * The members' key pairs and folder keys: NIST P-256. The 128-bit security
 * level of the AES-256-GCM that encrypts each message and of the TLS the mail
 * arrived over; P-521 would cost more on every delivery (a folder key is
 * wrapped with the member's public key) and every login, for a level nothing
 * else on the path has.
 */
export const MEMBER_KEY_CURVE = "prime256v1";
/** What a member's userdb password field holds: `{CRYPT}!` matches no password. */
const NO_PASSWORD_HERE = "{CRYPT}!";

/** The stack's member-owned accounts: those without a password. */
export function memberAddresses(stack: Stack): string[] {
  return Object.entries(stack.accounts).filter(([, a]) => !a.password).map(([address]) => address);
}

/**
 * What a member-owned account's userdb entry adds, in each release's names: the mail_crypt setting
 * that encrypts its new mail, and its indexes in memory only. Dovecot's index cache would otherwise
 * keep, in plaintext on disk, what it read from the decrypted messages (Subject, From, envelope,
 * body snippet): measured, a delivered message's Subject was in dovecot.index.cache. The Maildir
 * keeps what the indexes would have (UIDs and the folder's GUID, which the folder keys are filed
 * under, in dovecot-uidlist; flags in the file names); the cost is that each session reads the
 * messages it lists again (roles/mail/README.md, "Member-owned accounts").
 */
function memberFields(release: string): string {
  return mustRelease(release).dovecot === "2.4"
    ? "userdb_crypt_write_algorithm=aes-256-gcm-sha256 userdb_mail_index_path=MEMORY"
    : "userdb_mail_crypt_save_version=2 userdb_mail=maildir:~/Maildir:INDEX=MEMORY";
}

/** /etc/dovecot/members: a member-owned account's userdb entry (quota, encryption on). */
export function dovecotMemberUsers(ctx: RoleContext, quota: (size: string) => string): string {
  const header = "# Managed by podkit (role mail): member-owned accounts (their password is in " +
    `${MEMBER_PASSWORDS}, set by the member). Edit the stack file, not this file.\n`;
  const fields = memberFields(ctx.profile.release);
  return header + Object.entries(ctx.stack.accounts)
    .filter(([, a]) => !a.password)
    .map(([address, a]) => `${address}:${NO_PASSWORD_HERE}::::::${quota(a.quota)} ${fields}\n`)
    .join("");
}

/** The daemon, its unit, and the userdb file. */
export function memberFiles(ctx: RoleContext, t: (path: string) => string, quota: (size: string) => string): FileSpec[] {
  return [
    { path: MEMBER_USERDB, content: dovecotMemberUsers(ctx, quota), mode: 0o640, group: "dovecot" },
    { path: MEMBER_DAEMON, mode: 0o755, content: t("usr/local/sbin/podkit-member") },
    { path: `/etc/systemd/system/${MEMBER_UNIT}`, content: t(`etc/systemd/system/${MEMBER_UNIT}`) },
  ];
}

export function memberHandlers(): HandlerSpec[] {
  return [
    { name: "systemctl daemon-reload (podkit-member)", when: [`/etc/systemd/system/${MEMBER_UNIT}`], run: "systemctl daemon-reload" },
    {
      // An account that left the stack, or got a password there, can no longer log in with the one its
      // member set; the member's mail key stays (wrapped) with the mailbox.
      name: "forget the passwords of accounts that are no longer member-owned",
      when: [MEMBER_USERDB],
      run: `${MEMBER_DAEMON} prune`,
    },
  ];
}
