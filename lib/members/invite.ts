// What `podkit invite` makes and sends: a one-time token for the member's link,
// and for the host only its SHA-256 (the host never holds a token, so a copy of
// the host, or of a backup, opens no invite). Nothing here touches disk: the
// token lives in this process and on the admin's screen, nowhere else.
import { createHash, randomBytes } from "node:crypto";
import { MEMBER_DAEMON } from "../../roles/mail/members";
import { duration, durationSeconds } from "../stack/fields";
import { shellQuote } from "../ssh/shell";


export type InviteKind = "new" | "reset";

/** 32 random bytes, base64url without padding: 43 characters, safe in a URL path. */
export const newToken = (): string => randomBytes(32).toString("base64url");

/** What the host stores and compares: the SHA-256 of the token's text (its 43 ASCII characters), hex. */
export const tokenHash = (token: string): string => createHash("sha256").update(token, "utf8").digest("hex");

export const DEFAULT_VALID = "72h";
/** An invite link in the wrong hands sets a member's password: a month is the longest it may live. */
export const MAX_VALID_S = 30 * 86400;

/** `72h`, `30m`, `7d`, `90s` (the stack's own durations) to seconds; undefined when it is not one, or longer than allowed. */
export function parseDuration(text: string): number | undefined {
  const d = duration.safeParse(text.trim());
  if (!d.success) return undefined;
  const s = durationSeconds(d.data);
  return s <= MAX_VALID_S ? s : undefined;
}

/** "72 hours", "3 days", "30 minutes": how long, as the admin tells the member. */
export function describeDuration(seconds: number): string {
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  if (seconds % 86400 === 0 && seconds >= 86400 * 7) return unit(seconds / 86400, "day");
  if (seconds % 3600 === 0) return unit(seconds / 3600, "hour");
  if (seconds % 60 === 0) return unit(seconds / 60, "minute");
  return unit(seconds, "second");
}

/** The script run as root on the mail host: registers the invite by its hash. No token in it. */
export function inviteAddScript(address: string, kind: InviteKind, expires: number, hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error("an invite is registered by the SHA-256 of its token, in hex");
  return [
    `test -x ${MEMBER_DAEMON} || { echo "${MEMBER_DAEMON} is not installed" >&2; exit 3; }`,
    `exec ${MEMBER_DAEMON} invite-add --address ${shellQuote(address)} --kind ${kind} --expires ${Math.floor(expires)} --hash ${hash}`,
  ].join("\n");
}
