// `podkit invite <address> [stack]`: a one-time link with which a member sets
// their own password (issue 17). The token is made here, shown once (link and
// QR code) and never written down: the mail host gets only its SHA-256, over
// the same pinned SSH session `podkit apply` uses, and keeps it until the link
// is used or expires.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import QRCode from "qrcode";
import { inviteUrl, passwordUrl } from "../../../roles/web/account";
import { hostTarget } from "../../converge/host-target";
import { Session, type ExecResult } from "../../converge/ssh";
import { DEFAULT_VALID, describeDuration, inviteAddScript, MAX_VALID_S, newToken, parseDuration, tokenHash, type InviteKind } from "../../members/invite";
import type { HostTarget } from "../../ssh/connect";
import { closest } from "../../stack/issues";
import { loadStackFile } from "../../stack/load";
import { loadPod, StackError, type Pod } from "../../stack/pod";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";
import { wantsLive } from "../terminal";

const HELP = `usage: podkit invite <address> [stack.yaml] [--reset] [--valid 72h] [-i KEY]

Prints a one-time HTTPS link (and its QR code) with which the member of
<address> chooses their own password for mail and chat. The account must be in
the stack without a password: its mail is then encrypted at rest with a key
only the member's password unlocks (docs/privacy.md).
  --reset       for a member who forgot their password: the link sets a new one
                and makes a NEW mail key, so mail received before the reset
                can no longer be read by anyone
  --valid D     how long the link works: 30m, 72h, 7d (default ${DEFAULT_VALID}, at most 30d)
  -i, --identity  SSH private key for existing hosts (default: the SSH agent)
  --secrets FILE  the stack's secrets file, if not <stack>.secrets.yaml
Without a stack file, the one file in stacks/ that has the account is used.
The link is printed once and kept nowhere: not on this machine, not on the pod
(which stores only its SHA-256). Give it to the member alone.
Exit: 0 link made, 1 the pod refused (not applied yet, or the member tool said
no), 64 usage, 65 invalid stack or an account with a stack password,
69 host unreachable.`;

const OPTIONS = {
  reset: { type: "boolean" }, valid: { type: "string" }, identity: { type: "string", short: "i" }, secrets: { type: "string" },
} as const;

/** The host side, as the command sees it: a seam for tests (a fake session instead of SSH). */
export interface MailHost {
  run(script: string): Promise<ExecResult>;
  close(): void;
}

export interface InviteDeps {
  openHost(target: HostTarget): Promise<MailHost>;
  now(): number;
  token(): string;
  out(line: string): void;
  err(line: string): void;
  /** Whether stdout is a terminal (the QR code in colour) or a log (plain characters). */
  terminal: boolean;
  /** Where to look for a stack when none is named. */
  cwd: string;
}

const defaults = (): InviteDeps => ({
  openHost: (target) => Session.open(target),
  now: () => Date.now(),
  token: newToken,
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  terminal: wantsLive(process.stdout),
  cwd: process.cwd(),
});

export async function run(argv: string[], deps: InviteDeps = defaults()): Promise<number> {
  const args = parse(argv, OPTIONS, HELP);
  if (!args) return EXIT.OK;
  const [address, named, ...extra] = args.positionals;
  if (!address || extra.length) throw new UsageError(`name one address, and the stack file after it\n\n${HELP}`);
  if (!address.includes("@")) throw new UsageError(`"${address}" is not an address: podkit invite <address> [stack.yaml]`);
  const validS = parseDuration(args.values.valid ?? DEFAULT_VALID);
  if (validS === undefined) throw new UsageError(`--valid: "${args.values.valid}" is not a duration from 1s to ${MAX_VALID_S / 86400}d (examples: 30m, 72h, 7d)`);
  const kind: InviteKind = args.values.reset ? "reset" : "new";
  const file = named ?? stackWithAccount(address, deps.cwd);
  return withStackErrors(async () => {
    const pod = loadPod(file, { providers: hostProviders(), secretsFile: args.values.secrets });
    memberAccountOrThrow(pod, address);
    const host = pod.stack.mail!.host;
    const target = hostTarget(pod, host, { identity: args.values.identity });
    if (typeof target === "string") throw new StackError([pod.source.problem(["hosts", host], target, "key")]);
    const token = deps.token();
    const expires = Math.floor(deps.now() / 1000) + validS;
    // No host lock: registering an invite touches no file apply writes (podkit-member keeps its own lock).
    let session: MailHost;
    try {
      session = await deps.openHost(target);
    } catch (err) {
      deps.err(`podkit invite: ${(err as Error).message}`);
      return EXIT.UNAVAILABLE;
    }
    let r: ExecResult;
    try {
      r = await session.run(inviteAddScript(address, kind, expires, tokenHash(token)));
    } finally {
      session.close();
    }
    if (r.code !== 0) {
      const said = (r.stderr || r.stdout).trim().slice(-1000);
      deps.err(r.code === 3
        ? `podkit invite: ${host} has no member tool yet (${said}): run \`podkit apply ${file}\` first`
        : `podkit invite: ${host} refused the invite for ${address} (exit ${r.code}): ${said}`);
      return EXIT.FAILED;
    }
    await printInvite(pod, { address, kind, token, validS, expires }, deps);
    return EXIT.OK;
  });
}

/** The account exists and has no stack password; otherwise a refusal naming the stack file and field. */
function memberAccountOrThrow(pod: Pod, address: string): void {
  const accounts = Object.keys(pod.stack.accounts);
  const account = pod.stack.accounts[address];
  if (!account) {
    const guess = closest(address, accounts);
    throw new UsageError(`${address} is not an account in ${pod.file}${guess ? `; did you mean ${guess}?` : ` (its accounts: ${accounts.join(", ")})`}`);
  }
  if (account.password) {
    throw new StackError([pod.source.problem(["accounts", address, "password"],
      `${address}'s password is set by the stack (secret ${account.password.secret}), so its member cannot choose one: ` +
      `to hand the account to its member, remove this password line, run \`podkit apply ${pod.file}\`, then \`podkit invite ${address}\` ` +
      `(mail already stored stays unencrypted; see docs/privacy.md)`, "key")]);
  }
}

/** Without a stack file: the one stack in ./stacks whose accounts have the address. */
function stackWithAccount(address: string, cwd: string): string {
  const dir = join(cwd, "stacks");
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n) && !/\.secrets\.ya?ml$/.test(n)).sort();
  } catch {
    throw new UsageError(`name the stack file: podkit invite ${address} <stack.yaml> (there is no stacks/ directory here to look in)`);
  }
  const found = names.map((n) => join("stacks", n)).filter((f) => {
    const loaded = loadStackFile(join(cwd, f));
    return loaded.ok && address in loaded.stack.accounts;
  });
  if (found.length === 1) return join(cwd, found[0]);
  if (!found.length) throw new UsageError(`no valid stack in stacks/ has the account ${address}: name the stack file, podkit invite ${address} <stack.yaml>`);
  throw new UsageError(`${found.join(" and ")} all have ${address}: name the one you mean, podkit invite ${address} <stack.yaml>`);
}

async function printInvite(pod: Pod, invite: { address: string; kind: InviteKind; token: string; validS: number; expires: number }, deps: InviteDeps): Promise<void> {
  const url = inviteUrl(pod.stack, invite.token);
  const until = new Date(invite.expires * 1000).toISOString().replace("T", " ").replace(/:\d\d\.\d+Z$/, " UTC");
  const { out } = deps;
  out(invite.kind === "reset"
    ? `Password reset link for ${invite.address}, valid ${describeDuration(invite.validS)} (until ${until}), once:`
    : `Invite link for ${invite.address}, valid ${describeDuration(invite.validS)} (until ${until}), once:`);
  out("");
  out(`  ${url}`);
  out("");
  // On a terminal, the QR code in colour (phones read it best); in a log or a pipe, plain block characters.
  const qr = await QRCode.toString(url, deps.terminal ? { type: "terminal", small: true } : { type: "utf8" });
  for (const line of qr.replace(/\n+$/, "").split("\n")) out(line);
  out("");
  if (invite.kind === "reset") {
    out(`What a reset does: when ${invite.address} sets the new password, the pod makes a NEW mail key for them.`);
    out(`Mail they received before the reset stays on the server but can no longer be read, by them or by you:`);
    out(`it was encrypted with the old key, which only the forgotten password opened. Mail from then on is readable.`);
    out(`Chat history and contacts are not affected. Until the link is used, the old password keeps working.`);
  } else {
    out(`Whoever opens the link first chooses the password: give it to ${invite.address}'s member alone (in person, or a channel only they read).`);
    out(`Their mail is encrypted at rest with a key only that password unlocks; mail arriving before then waits in the queue.`);
  }
  out(`The link is shown only now: podkit keeps no copy. Later password changes: ${passwordUrl(pod.stack)}`);
}
