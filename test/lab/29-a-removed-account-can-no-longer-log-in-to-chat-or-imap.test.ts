// An account taken out of the stack loses every login at the next apply: chat
// (its Prosody account file goes), IMAP and submission (its line in Dovecot's
// passwd-file goes), and the sessions it had open are closed. Its mailbox stays
// on the host (the removal policy: roles/mail/README.md). An account file left
// in a domain that has no account in the stack any more (the last account of a
// domain removed) goes too.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { ImapFlow } from "imapflow";
import { onHost, REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { login, sessionPool } from "./xmppclients";

let pods: Pods;
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const withDan = path.join(mkdtempSync(path.join(tmpdir(), "podkit-removed-")), "lab-a.yaml");
const DAN = "dan@a.test";
const danPassword = randomBytes(18).toString("base64url");
const pool = sessionPool();

function imap(pods: Pods, user: string, pass: string): ImapFlow {
  return new ImapFlow({
    host: pods.a.ip, port: 993, secure: true, auth: { user, pass }, logger: false,
    tls: { servername: pods.a.mx, ca: pods.ca },
  } as ConstructorParameters<typeof ImapFlow>[0]);
}

before(async () => {
  pods = await ensurePods(["a"]);
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  const edited = original.replace("accounts:\n", `accounts:\n  ${DAN}:\n    name: Dan\n    password: { secret: dan-password }\n`);
  assert.notEqual(edited, original);
  writeFileSync(withDan, edited);
  // The secrets file is the lab's; the new account's password comes the way CI systems give one.
  process.env.PODKIT_SECRET_DAN_PASSWORD = danPassword;
});

after(async () => {
  await pool.stopAll();
  await onHost(pods.lab, "a", "rm -rf /var/mail/vhosts/a.test/dan /var/lib/prosody/a%2etest/*/dan.* /var/lib/prosody/old%2etest");
  await apply("stacks/lab-a.yaml");
});

test("an account removed from the stack can log in to neither chat nor IMAP nor submission, and its open sessions end; its mailbox stays", async () => {
  const added = await apply(withDan, "--secrets", SECRETS);
  assert.equal(added.report.exitCode, undefined, added.stderr);

  // Dan works: chat, IMAP (a session left open), mail to Dan delivered.
  const chat = await pool.login(pods, pods.a, "dan", danPassword);
  const open = imap(pods, DAN, danPassword);
  await open.connect();
  const closed = new Promise<void>((resolve) => open.on("close", () => resolve()));
  const subject = token("before-removal");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: DAN, subject, text: "kept" });
  await fetchBySubject(pods, pods.a, DAN, danPassword, subject);

  const removed = await apply("stacks/lab-a.yaml");
  assert.equal(removed.report.exitCode, undefined, removed.stderr);

  await assert.rejects(login(pods, pods.a, "dan", danPassword), /not-authorized|auth/i, "chat login refused");
  const again = imap(pods, DAN, danPassword);
  await assert.rejects(again.connect(), /auth|fail/i, "IMAP login refused");
  await assert.rejects(submit(pods, pods.a, DAN, danPassword, { to: "alice@a.test", subject: "after removal", text: "no" }), /auth|535/i, "submission login refused");

  // The sessions Dan had open were closed by the apply.
  await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error("Dan's IMAP session is still open")), 20_000))]);
  await Promise.race([
    new Promise<void>((resolve) => { chat.xmpp.once("disconnect", () => resolve()); chat.xmpp.once("offline", () => resolve()); }),
    new Promise((_, reject) => setTimeout(() => reject(new Error("Dan's chat session is still open")), 20_000)),
  ]).catch(async (err) => {
    // An already closed client emits nothing more: ask the server instead.
    const who = await onHost(pods.lab, "a", "prosodyctl shell c2s show a.test 2>&1");
    if (who.stdout.includes(DAN)) throw err;
  });

  // The account file is gone, the mailbox (with the mail delivered before) is not.
  const host = await onHost(pods.lab, "a", `ls /var/lib/prosody/a%2etest/accounts/; ls -d /var/mail/vhosts/a.test/dan/Maildir && grep -rl '${subject}' /var/mail/vhosts/a.test/dan/Maildir | head -1`);
  assert.doesNotMatch(host.stdout, /^dan\.dat$/m);
  assert.match(host.stdout, /\/var\/mail\/vhosts\/a\.test\/dan\/Maildir\n.+/);
});

test("an account file in a domain without any account in the stack (the last of its domain removed) goes at the next apply", async () => {
  const planted = await onHost(pods.lab, "a",
    "install -d -o prosody -m 750 /var/lib/prosody/old%2etest/accounts && cp -p /var/lib/prosody/a%2etest/accounts/alice.dat /var/lib/prosody/old%2etest/accounts/erin.dat");
  assert.equal(planted.code, 0, planted.stderr);
  const r = await apply("stacks/lab-a.yaml");
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const after = await onHost(pods.lab, "a", "ls /var/lib/prosody/old%2etest/accounts/");
  assert.equal(after.stdout.trim(), "", "the account file is gone");
});
