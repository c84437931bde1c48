// Members own their passwords (issue 17). carol@a.test's stack entry names no
// password: the admin runs `podkit invite`, carol opens the one-time link over
// HTTPS and chooses her password, which logs her in to IMAP and chat and is
// nowhere on the admin's machine. Her mail is encrypted at rest with a key
// only her password unlocks: a word planted in a message is not on the disk,
// and is in what IMAP shows her. She changes her password (web page, and her
// chat client in band): the old one is refused, old mail still opens. An admin
// reset gives her a new password and a new key: old mail no longer opens, new
// mail does. The rebuild drill brings back a mailbox that opens with her
// password, message for message.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { readLabState } from "../../lib/lab/state";
import { mailboxDigest, must } from "./backups";
import { onHost, podkit, REPO, run } from "./helpers";
import { acceptInvite, invite, memberStack, post } from "./members";
import { fetchBySubject, imapClient, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { podRequest } from "./uploads";
import { login, sessionPool, xmlLib } from "./xmppclients";

let pods: Pods;
const CAROL = "carol@a.test";
const MAILDIR = "/var/mail/vhosts/a.test/carol";
const { stack: memberStackFile, dir: stackDir } = memberStack();
const pool = sessionPool();
/** Every password carol chooses in this file: none may be found on the admin's side. */
const chosen: string[] = [];
const newPassword = () => { const p = `carol-${randomBytes(12).toString("base64url")}`; chosen.push(p); return p; };

before(async () => {
  pods = await ensurePods(["a"]);
  const r = await apply(memberStackFile);
  assert.equal(r.report.exitCode, undefined, r.stderr);
});

after(async () => {
  await pool.stopAll();
  // Back to the lab's own stack; carol's encrypted mail and member record go, so the lab's carol is as before.
  await onHost(pods.lab, "a", `rm -rf ${MAILDIR}; sed -i '/^carol@a.test:/d' /var/lib/podkit/members/passwords 2>/dev/null; true`);
  await apply("stacks/lab-a.yaml");
});

/** `podkit invite` for carol: the link, and a QR code of it printed too. */
async function inviteCarol(...flags: string[]): Promise<{ link: string; out: string }> {
  const r = await invite(memberStackFile, CAROL, ...flags);
  assert.match(r.out, /[▀▄█]{4,}/, "podkit invite prints a QR code of the link");
  return r;
}

async function imapRefuses(password: string): Promise<void> {
  await assert.rejects(imapClient(pods, pods.a, CAROL, password), /auth|fail/i, "IMAP refuses the password");
}

async function chatWorks(password: string): Promise<void> {
  const s = await pool.login(pods, pods.a, "carol", password);
  await s.stop();
}

/** A message to carol whose body carries `word`; returns its subject once it is in her Maildir. */
async function plant(word: string): Promise<string> {
  const count = async () => Number((await onHost(pods.lab, "a", `find ${MAILDIR}/Maildir -type f \\( -path '*/new/*' -o -path '*/cur/*' \\) 2>/dev/null | wc -l`)).stdout.trim());
  const was = await count();
  const subject = token("at-rest");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: CAROL, subject, text: `the planted word is ${word}` });
  // Delivered = one more file in carol's Maildir (looked at on the disk: the test logs in as carol only to read).
  for (let i = 0; (await count()) <= was; i++) {
    if (i >= 120) throw new Error(`the message "${subject}" did not reach carol's Maildir within 30 s`);
    await new Promise((res) => setTimeout(res, 250));
  }
  return subject;
}

async function bodyOf(password: string, subject: string, ms = 30_000): Promise<string> {
  return (await fetchBySubject(pods, pods.a, CAROL, password, subject, ms)).toString();
}

let password = "";
let firstSubject = "";
let firstWord = "";

test("podkit invite prints a one-time HTTPS link; carol chooses her password there and logs in to IMAP and chat with it; the link does not work twice", async () => {
  const { link } = await inviteCarol();
  password = newPassword();
  await acceptInvite(pods, link, password);

  const imap = await imapClient(pods, pods.a, CAROL, password);
  await imap.logout();
  await chatWorks(password);

  const again = await podRequest(pods, pods.a, "GET", link);
  assert.equal(again.status, 410, "an used link is gone");
  const reuse = await post(pods, link, { password: "someone-else-1234", password2: "someone-else-1234" });
  assert.equal(reuse.status, 410, "and choosing a password on it again is refused");
  await imapRefuses("someone-else-1234");
});

test("the password carol chose appears nowhere on the admin's machine", async () => {
  const places = [REPO, path.join(homedir(), ".cache", "podkit"), path.join(homedir(), ".pulumi"), stackDir, "/var/lib/podkit/lab/ca", "/var/lib/podkit/lab/ssh"].filter((p) => existsSync(p));
  for (const p of chosen) {
    const r = await run("grep", ["-rlF", "--exclude-dir=node_modules", "--", p, ...places]);
    assert.equal(r.stdout, "", `found in: ${r.stdout}`);
    assert.equal(r.code, 1, r.stderr);
  }
});

test("mail to carol is not readable on the disk: a planted word is in no file of her mail directory, and in what IMAP shows her", async () => {
  firstWord = `zebra${randomBytes(6).toString("hex")}`;
  firstSubject = await plant(firstWord);
  assert.match(await bodyOf(password, firstSubject), new RegExp(firstWord), "IMAP shows carol the word");
  const disk = await onHost(pods.lab, "a", `grep -rl -- '${firstWord}' ${MAILDIR} /var/lib/podkit/members; echo rc=$?`);
  assert.match(disk.stdout, /^rc=1$/m, `the word is on the disk in:\n${disk.stdout}`);
  // The control: the same word in alice's mail (not encrypted, her password is the admin's) is found on disk.
  const control = token("control");
  await submit(pods, pods.a, "carol@a.test", password, { to: "alice@a.test", subject: control, text: `control ${firstWord}` });
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), control);
  const onDisk = await onHost(pods.lab, "a", `grep -rl -- '${firstWord}' /var/mail/vhosts/a.test/alice/Maildir | head -1`);
  assert.match(onDisk.stdout, /alice\/Maildir/, "grep does find a plaintext copy: the check above can fail");
});

test("carol changes her password on the pod's page and in her chat client: each time the old one is refused, the new one works for mail and chat, old mail still opens", async () => {
  // A second first-password invite would replace her key: refused; a forgotten password takes --reset.
  const again = await podkit("invite", CAROL, memberStackFile);
  assert.equal(again.code, 1, again.stdout + again.stderr);
  assert.match(again.stderr, /set a password already.*reset/);
  const origin = `https://${pods.a.mx}`;
  // The page: wrong old password refused.
  const wrong = await post(pods, `${origin}/account/password`, { address: CAROL, old: "not-her-password", password: "whatever-long-enough", password2: "whatever-long-enough" });
  assert.notEqual(wrong.status, 200, "a wrong old password changes nothing");
  await imapRefuses("whatever-long-enough");

  const byPage = newPassword();
  const changed = await post(pods, `${origin}/account/password`, { address: CAROL, old: password, password: byPage, password2: byPage });
  assert.equal(changed.status, 200, changed.body.toString());
  await imapRefuses(password);
  await assert.rejects(login(pods, pods.a, "carol", password), /not-authorized|auth/i, "chat refuses the old password");
  await chatWorks(byPage);
  assert.match(await bodyOf(byPage, firstSubject), new RegExp(firstWord), "old mail opens with the new password");
  password = byPage;

  // In band (XEP-0077 §3.3): the plain request is answered with a form that asks for the old password.
  const { xml } = xmlLib();
  const s = await pool.login(pods, pods.a, "carol", password);
  const inBand = newPassword();
  const plain = await s.iq(xml("iq", { type: "set", to: "a.test" }, xml("query", { xmlns: "jabber:iq:register" },
    xml("username", {}, "carol"), xml("password", {}, inBand)))).catch((e: any) => e);
  // The error's stanza (the <error/>'s parent) carries the form, next to it (§3.3, example 20).
  assert.equal(plain?.condition, "not-authorized", `a plain change is not enough: ${plain}`);
  const formEl = plain.element.parent?.getChild("query", "jabber:iq:register")?.getChild("x", "jabber:x:data");
  assert.ok(formEl, `the server answers with a form asking for the old password, got ${plain?.element ?? plain}`);
  assert.ok(formEl.getChildren("field").some((f: any) => f.attrs.var === "old_password"));
  const submitted = await s.iq(xml("iq", { type: "set", to: "a.test" }, xml("query", { xmlns: "jabber:iq:register" },
    xml("x", { xmlns: "jabber:x:data", type: "submit" },
      xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "jabber:iq:register:changepassword")),
      xml("field", { var: "username" }, xml("value", {}, "carol")),
      xml("field", { var: "old_password" }, xml("value", {}, password)),
      xml("field", { var: "password" }, xml("value", {}, inBand))))));
  assert.equal(submitted.attrs.type, "result");
  await s.stop();
  await imapRefuses(password);
  await chatWorks(inBand);
  assert.match(await bodyOf(inBand, firstSubject), new RegExp(firstWord), "old mail opens after the in-band change too");
  password = inBand;
});

test("podkit invite --reset: the new password works, old mail no longer opens (as the page says), new mail does", async () => {
  const { link, out } = await inviteCarol("--reset");
  assert.match(out, /unreadable|cannot be read|no longer be read/i, "the admin is told what a reset does");
  const reset = newPassword();
  await acceptInvite(pods, link, reset);
  await imapRefuses(password);
  await chatWorks(reset);
  // The old message is still listed, and its content does not open.
  await assert.rejects(bodyOf(reset, firstSubject, 5_000), "the message from before the reset does not open");
  const word = `yak${randomBytes(6).toString("hex")}`;
  const subject = await plant(word);
  assert.match(await bodyOf(reset, subject), new RegExp(word), "new mail opens");
  password = reset;
});

test("the rebuild drill with an encrypted mailbox: after restore carol's mailbox, opened with her password, is the same message for message", async (t) => {
  // The mailbox as it stands: drop the message a reset made unreadable, it would hash as an error.
  const c = await imapClient(pods, pods.a, CAROL, password);
  try {
    const lock = await c.getMailboxLock("INBOX");
    try {
      const old = await c.search({ subject: firstSubject }, { uid: true });
      if (old && old.length) await c.messageDelete(old.join(","), { uid: true });
    } finally { lock.release(); }
  } finally { await c.logout().catch(() => undefined); }
  const before = await mailboxDigest(pods, pods.a, CAROL, password);
  assert.ok(Object.values(before).flat().length >= 1, "carol has mail to back up");

  const backup = await must("backup", memberStackFile);
  const snapshot = /snapshot ([0-9a-f]{8,64}) saved/.exec(backup.stdout)?.[1];
  assert.ok(snapshot, backup.stdout);
  await must("lab", "recreate", "a");
  pods.lab = readLabState()!;
  await must("apply", memberStackFile);
  await must("restore", memberStackFile, "--snapshot", snapshot);
  const afterRestore = await mailboxDigest(pods, pods.a, CAROL, password);
  assert.deepEqual(afterRestore, before, "the same messages, opened with carol's password");
  // Restored as ciphertext: message files are there, and the words planted in them are in none.
  const disk = await onHost(pods.lab, "a", `find ${MAILDIR}/Maildir -type f \\( -path '*/cur/*' -o -path '*/new/*' \\) | wc -l; grep -rl -- 'planted word' ${MAILDIR}/Maildir | wc -l`);
  const [files, plaintext] = disk.stdout.trim().split("\n").map(Number);
  assert.ok(files >= 1, `the restored Maildir has message files (${disk.stdout})`);
  assert.equal(plaintext, 0, "and still encrypted on the restored disk");
  t.diagnostic(`drill: backup ${backup.seconds.toFixed(1)} s`);
});
