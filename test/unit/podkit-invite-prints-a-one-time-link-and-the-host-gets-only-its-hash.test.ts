// `podkit invite` (lib/cli/commands/invite.ts): the link and QR code it prints,
// what the mail host is sent (the token's SHA-256, never the token), the
// refusals for accounts the stack holds a password for, and the stack rule
// that member-owned accounts need chat on the mail host. The host is a fake
// session recording the script it was given.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { run, type InviteDeps } from "../../lib/cli/commands/invite";
import { main } from "../../lib/cli/main";
import type { ExecResult } from "../../lib/converge/ssh";
import { newToken, parseDuration } from "../../lib/members/invite";
import { loadStackFile } from "../../lib/stack/load";
import { memberSection } from "../../lib/howto/markdown";
import { derivedValues } from "../../lib/howto/placeholders";
import type { Pod } from "../../lib/stack/pod";

const STACK = (chatHost = "box") => `pod: club
domains: [club.example]
admin:
  sshKeys: [ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm1cR0bK2p9P0Zf3Rk4s7Qz9yXw6v5u4t3s2r1q0p9o ada@laptop]
hosts:
  box:
    existing: { address: 203.0.113.25, hostKey: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8" }
  talk:
    existing: { address: 203.0.113.26, hostKey: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY9" }
dns:
  zonefile: { nameservers: [ns1.example.net, ns2.example.net] }
mail:
  host: box
chat:
  host: ${chatHost}
accounts:
  ada@club.example:
    password: { secret: ada-password }
    aliases: [postmaster]
  carol@club.example:
    name: Carol
`;

/** A stack in a fresh directory laid out like a checkout (stacks/club.yaml), with HOME there too. */
function checkout(stack = STACK()): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), "podkit-invite-"));
  mkdirSync(join(dir, "stacks"));
  const file = join(dir, "stacks", "club.yaml");
  writeFileSync(file, stack);
  return { dir, file };
}

/** The fake mail host: records each script, answers with `answer`. */
function fakeDeps(dir: string, answer: ExecResult = { code: 0, stdout: "", stderr: "" }) {
  const scripts: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const tokens: string[] = [];
  let closed = 0;
  const deps: InviteDeps = {
    openHost: async (target) => {
      assert.equal(target.address, "203.0.113.25", "the invite goes to the mail host");
      return { run: async (s) => (scripts.push(s), answer), close: () => void closed++ };
    },
    now: () => Date.parse("2026-12-02T20:00:00Z"),
    token: () => { const t = newToken(); tokens.push(t); return t; },
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    terminal: false,
    cwd: dir,
  };
  return { deps, scripts, out, err, tokens, closed: () => closed };
}

/** The 1-based line of the stack text that starts with `text`. */
const lineOf = (stack: string, text: string) => stack.split("\n").findIndex((l) => l.startsWith(text)) + 1;

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

test("the link is the mail host's name with a fresh token; the host is sent only the token's SHA-256 and when it expires", async () => {
  const { dir, file } = checkout();
  const f = fakeDeps(dir);
  assert.equal(await run(["carol@club.example", file], f.deps), 0);
  const [token] = f.tokens;
  assert.match(token, /^[A-Za-z0-9_-]{43}$/, "32 random bytes in base64url");
  const text = f.out.join("\n");
  assert.ok(text.includes(`https://box.club.example/account/invite/${token}`), text);
  assert.match(text, /valid 72 hours \(until 2026-12-05 20:00 UTC\)/);
  assert.equal(f.scripts.length, 1);
  const script = f.scripts[0];
  assert.ok(!script.includes(token), "the token never reaches the host");
  assert.match(script, new RegExp(`podkit-member invite-add --address 'carol@club\\.example' --kind new --expires ${Date.parse("2026-12-05T20:00:00Z") / 1000} --hash ${sha256(token)}$`, "m"));
  assert.equal(f.closed(), 1, "the session is closed");
  // The QR code, in plain block characters in a log: no control character.
  assert.ok(f.out.filter((l) => /^[ █▀▄]{20,}$/.test(l)).length >= 10, "a QR code of block characters");
  assert.ok(!text.includes("\x1b"), "no escape codes outside a terminal");
  // A second invite is another token.
  const g = fakeDeps(dir);
  await run(["carol@club.example", file, "--valid", "30m"], g.deps);
  assert.notEqual(g.tokens[0], token);
  assert.match(g.out.join("\n"), /valid 30 minutes/);
  const week = fakeDeps(dir);
  await run(["carol@club.example", file, "--valid", "7d"], week.deps);
  assert.match(week.out.join("\n"), /valid 7 days \(until 2026-12-09 20:00 UTC\)/);
});

test("on a terminal the QR code is drawn in colour", async () => {
  const { dir, file } = checkout();
  const f = fakeDeps(dir);
  f.deps.terminal = true;
  assert.equal(await run(["carol@club.example", file], f.deps), 0);
  assert.ok(f.out.join("\n").includes("\x1b[47m"), "the terminal renderer's white background");
});

test("--reset says plainly that mail received before it becomes unreadable", async () => {
  const { dir, file } = checkout();
  const f = fakeDeps(dir);
  assert.equal(await run(["--reset", "carol@club.example", file], f.deps), 0);
  assert.match(f.scripts[0], /--kind reset /);
  const text = f.out.join("\n");
  assert.match(text, /^Password reset link for carol@club\.example/);
  assert.match(text, /Mail they received before the reset .* can no longer be read, by them or by you/);
});

test("without a stack file, the stack in stacks/ that has the account is used", async () => {
  const { dir } = checkout();
  writeFileSync(join(dir, "stacks", "other.yaml"), STACK().replace(/carol@club\.example/g, "dave@club.example"));
  const f = fakeDeps(dir);
  assert.equal(await run(["carol@club.example"], f.deps), 0);
  assert.match(f.scripts[0], /--address 'carol@club\.example'/);
  await assert.rejects(run(["erin@club.example"], fakeDeps(dir).deps), /no valid stack in stacks\/ has the account erin@club\.example/);
});

test("the token is written nowhere on the admin's machine", async () => {
  const { dir, file } = checkout();
  const saved = { HOME: process.env.HOME, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
  process.env.HOME = dir;
  delete process.env.XDG_CACHE_HOME;
  try {
    const f = fakeDeps(dir);
    assert.equal(await run(["carol@club.example", file], f.deps), 0);
    const files: string[] = [];
    const walk = (d: string) => readdirSync(d).forEach((n) => (statSync(join(d, n)).isDirectory() ? walk(join(d, n)) : files.push(join(d, n))));
    walk(dir);
    for (const p of files) assert.ok(!readFileSync(p, "utf8").includes(f.tokens[0]), `${p} holds the token`);
    assert.deepEqual(files.map((p) => p.slice(dir.length)), ["/stacks/club.yaml"], "no state, log or secrets file was made");
  } finally {
    Object.assign(process.env, saved);
    if (saved.XDG_CACHE_HOME === undefined) delete process.env.XDG_CACHE_HOME;
  }
});

/** Runs the CLI as `npx podkit` would (exit code), catching what it prints to stderr. */
async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
  const lines: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => void lines.push(a.join(" "));
  try {
    return { code: await main(argv), stderr: lines.join("\n") };
  } finally {
    console.error = orig;
  }
}

test("an account whose password the stack sets is refused, naming the file, line and field", async () => {
  const { file } = checkout();
  const r = await cli(["invite", "ada@club.example", file]);
  assert.equal(r.code, 65);
  assert.match(r.stderr, new RegExp(`${file.replace(/[.]/g, "\\.")}:${lineOf(STACK(), "    password: { secret: ada-password }")}:5 accounts\\["ada@club\\.example"\\]\\.password: ada@club\\.example's password is set by the stack \\(secret ada-password\\)`));
  assert.match(r.stderr, /remove this password line/);
});

test("an address that is no account, a bad duration or no address is a usage error (64)", async () => {
  const { file } = checkout();
  const none = await cli(["invite", "carl@club.example", file]);
  assert.equal(none.code, 64);
  assert.match(none.stderr, /carl@club\.example is not an account in .*club\.yaml; did you mean carol@club\.example\?/);
  assert.equal((await cli(["invite", "carol@club.example", file, "--valid", "forever"])).code, 64);
  assert.equal((await cli(["invite", "carol@club.example", file, "--valid", "31d"])).code, 64);
  assert.equal((await cli(["invite"])).code, 64);
  assert.equal(parseDuration("72h"), 259200);
  assert.equal(parseDuration("0m"), undefined);
});

test("a host without the member tool, or one that refuses, is exit 1 with what it said", async () => {
  const { dir, file } = checkout();
  const missing = fakeDeps(dir, { code: 3, stdout: "", stderr: "/usr/local/sbin/podkit-member is not installed" });
  assert.equal(await run(["carol@club.example", file], missing.deps), 1);
  assert.match(missing.err.join("\n"), /box has no member tool yet .*: run `podkit apply .*club\.yaml` first/);
  assert.deepEqual(missing.out, [], "no link for an invite the host does not hold");
  const refused = fakeDeps(dir, { code: 1, stdout: "", stderr: "carol@club.example has a password already: use --kind reset" });
  assert.equal(await run(["carol@club.example", file], refused.deps), 1);
  assert.match(refused.err.join("\n"), /refused the invite for carol@club\.example \(exit 1\): carol@club\.example has a password already/);
  const down = fakeDeps(dir);
  down.deps.openHost = async () => { throw new Error("box: cannot connect over SSH to 203.0.113.25:22"); };
  assert.equal(await run(["carol@club.example", file], down.deps), 69);
});

test("member-owned accounts need chat on the mail host: an error at chat.host's line", () => {
  const { file } = checkout(STACK("talk"));
  const r = loadStackFile(file);
  assert.equal(r.ok, false);
  const p = !r.ok && r.problems.find((x) => x.field === "chat.host");
  assert.ok(p, JSON.stringify(!r.ok && r.problems));
  assert.equal(p.line, lineOf(STACK("talk"), "  host: talk"));
  assert.match(p.message, /carol@club\.example has no password in the stack .*set chat\.host to "box" \(mail\.host\)/);
  // With carol's password in the stack, chat may live elsewhere.
  const withPw = checkout(STACK("talk").replace("    name: Carol", "    name: Carol\n    password: { secret: carol-password }"));
  assert.equal(loadStackFile(withPw.file).ok, true);
});

test("the how-to makes no password placeholder for a member-owned account and says how its member sets one", () => {
  const { file } = checkout();
  const loaded = loadStackFile(file);
  assert.ok(loaded.ok);
  const derived = derivedValues(loaded.stack, { dovecot: true, prosody: true });
  assert.ok(derived.make.some((m) => m.placeholder === "<DOVECOT_HASH_ADA_CLUB_EXAMPLE>"), "ada's hash, from the stack's password");
  assert.ok(!derived.make.some((m) => /CAROL/.test(m.placeholder)), "nothing to make for carol");
  const words = memberSection({ file, stack: loaded.stack } as Pod).join("\n");
  assert.match(words, /`carol@club\.example` has no password in the stack, so no placeholder here: each member sets their own password with a one-time invite link, `https:\/\/box\.club\.example\/account\/invite\/<token>`/);
  assert.match(words, /podkit-member invite-add --address <address> --kind new/);
  assert.doesNotMatch(words, /^```sh$/m, "no step for the how-to's reader to run");
});
