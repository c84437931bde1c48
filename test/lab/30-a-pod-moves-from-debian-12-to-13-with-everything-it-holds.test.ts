// Moving a pod from Debian 12 to Debian 13, the way the README tells an admin
// to: back up the pod on 12, replace the host with a Debian 13 one, apply,
// restore. Pod b.test (Debian 12 in the default lab) holds mail in two
// mailboxes, a sieve script, chat archives, a roster and an uploaded file;
// after the move every mailbox has the same messages (content hashes over
// IMAP, logging in with the same passwords), the chat files and the upload
// are the same bytes, the DKIM key is the one DNS publishes, and mail and
// chat cross the pods again. b stays on Debian 13 afterwards (until the next
// `podkit lab up`); a second run moves it back to 12 first.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { authenticate } from "mailauth";
import { after, before, test } from "node:test";
import { readLabState } from "../../lib/lab/state";
import { fileDigest, mailboxDigest, must } from "./backups";
import { onHost } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { podRequest, upload } from "./uploads";
import { chatBody, chatBothWays, login, xmlLib, type Session } from "./xmppclients";

let pods: Pods;
const open: Session[] = [];
before(async () => {
  pods = await ensurePods();
  if (pods.lab.hosts.b.release !== "bookworm") {
    // A run before this one left b on Debian 13: start again from 12.
    await must("lab", "recreate", "b", "--release", "bookworm");
    pods = await ensurePods();
  }
});
after(async () => {
  await Promise.all(open.map((s) => s.stop()));
});

const ACCOUNTS = [["bob@b.test", "bob-password"], ["dave@b.test", "dave-password"]] as const;
const SIEVE = "/var/mail/vhosts/b.test/dave/sieve";
const CHAT_FILES = "/var/lib/prosody/*/archive /var/lib/prosody/*/roster /var/lib/prosody/*/vcard /var/lib/prosody/*/http_file_share";

async function debianVersion(): Promise<string> {
  return (await onHost(pods.lab, "b", ". /etc/os-release; echo $VERSION_ID")).stdout.trim();
}

async function podState() {
  const mail: Record<string, Record<string, string[]>> = {};
  for (const [user, secret] of ACCOUNTS) mail[user] = await mailboxDigest(pods, pods.b, user, pods.b.password(secret));
  return {
    mail,
    chatFiles: await fileDigest(pods, "b", CHAT_FILES),
    sieve: await fileDigest(pods, "b", SIEVE),
    dkim: await fileDigest(pods, "b", "/etc/dkimkeys"),
  };
}

let uploaded: { getUrl: string; bytes: Buffer };

test("a pod on Debian 12 moves to a Debian 13 host by backup, recreate, apply and restore, keeping mail, sieve, chat, roster, upload and DKIM key", async (t) => {
  assert.equal(await debianVersion(), "12", "the pod starts on Debian 12");
  // 1. Mail in both mailboxes, from this pod and from the other one.
  const tag = token("move");
  const mails: ["a" | "b", string, string, string][] = [
    ["b", "bob@b.test", "bob-password", "dave@b.test"],
    ["b", "dave@b.test", "dave-password", "bob@b.test"],
    ["a", "alice@a.test", "alice-password", "bob@b.test"],
    ["a", "carol@a.test", "carol-password", "dave@b.test"],
  ];
  for (const [i, [pod, from, secret, to]] of mails.entries()) {
    await submit(pods, pods[pod], from, pods[pod].password(secret), { to, subject: `${tag}-${i}`, text: `message ${i} of the move, from ${from} to ${to}` });
  }
  for (const [i, [, , , to]] of mails.entries()) {
    await fetchBySubject(pods, pods.b, to, pods.b.password(to.startsWith("bob") ? "bob-password" : "dave-password"), `${tag}-${i}`, 60_000);
  }
  // 2. A sieve script, a roster entry, chat archives (one message offline), an uploaded file.
  await onHost(pods.lab, "b", `install -d -o vmail -g vmail ${SIEVE} && printf 'require "fileinto";\\n# ${tag}\\nif header :contains "subject" "newsletter" { fileinto "INBOX"; }\\n' > ${SIEVE}/move.sieve && chown vmail:vmail ${SIEVE}/move.sieve`);
  const { xml } = xmlLib();
  const bob = await login(pods, pods.b, "bob", pods.b.password("bob-password"));
  open.push(bob);
  await bob.iq(xml("iq", { type: "set" }, xml("query", { xmlns: "jabber:iq:roster" }, xml("item", { jid: "alice@a.test", name: "Alice" }))));
  const dave = await login(pods, pods.b, "dave", pods.b.password("dave-password"));
  open.push(dave);
  const local = `chat ${tag} dave to bob`;
  await dave.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, local)));
  await bob.waitFor((el) => el.is("message") && chatBody(el) === local, 20_000, "dave's message");
  const bytes = randomBytes(80_000);
  const put = await upload(pods, pods.b, bob, bytes, "move.png", "image/png");
  assert.equal(put.putStatus, 201, "the upload is stored");
  uploaded = { getUrl: put.getUrl, bytes };
  await bob.stop();
  const alice = await login(pods, pods.a, "alice", pods.a.password("alice-password"));
  open.push(alice);
  await alice.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, `chat ${tag} alice to bob (offline, archived)`)));
  await alice.stop();
  await dave.stop();
  // Let Prosody write what it archived before the copy is taken.
  await new Promise((r) => setTimeout(r, 1500));

  const before = await podState();
  const messages = Object.values(before.mail).flatMap((boxes) => Object.values(boxes)).flat().length;
  const files = Object.keys(before.chatFiles);
  t.diagnostic(`before: ${messages} messages in ${ACCOUNTS.length} mailboxes, ${files.length} chat files, a sieve script and the DKIM key`);
  assert.ok(messages >= mails.length);
  for (const kind of ["/archive/", "/roster/", "/http_file_share/"]) assert.ok(files.some((f) => f.includes(kind)), `there is ${kind} data to move`);
  assert.equal(Object.keys(before.sieve).length, 1);

  // 3. Backup on 12; the host is replaced by an empty Debian 13 one; apply; restore.
  const backup = await must("backup", "stacks/lab-b.yaml");
  const snapshot = /snapshot ([0-9a-f]{8,64}) saved/.exec(backup.stdout)?.[1];
  assert.ok(snapshot, `podkit backup names the snapshot it saved:\n${backup.stdout}`);
  const t0 = Date.now();
  await must("lab", "recreate", "b", "--release", "trixie");
  pods.lab = readLabState()!;
  assert.equal(pods.lab.hosts.b.release, "trixie");
  assert.equal(await debianVersion(), "13", "the new host runs Debian 13");
  const applied = await apply("stacks/lab-b.yaml");
  assert.ok(!applied.report.exitCode, `apply on the Debian 13 host:\n${applied.stderr}`);
  const rebuild = (Date.now() - t0) / 1000;
  const restore = await must("restore", "stacks/lab-b.yaml", "--snapshot", snapshot);
  t.diagnostic(`restore said: ${restore.stdout.trim().split("\n").join(" | ")}`);
  if (restore.seconds > 30) {
    // A slow restore is a service that would not stop: what systemd said about it, for whoever reads this run.
    const said = await onHost(pods.lab, "b", "journalctl --since -5min --no-pager -o short-precise | grep -iE 'timed out|sigkill|stop-sigterm|Stopping|Stopped' | tail -20");
    t.diagnostic(`slow restore; systemd said:\n${said.stdout}`);
  }
  const durations = `move durations: backup on 12 ${backup.seconds.toFixed(1)} s, new Debian 13 host + apply ${rebuild.toFixed(1)} s (apply ${applied.seconds.toFixed(1)} s), restore ${restore.seconds.toFixed(1)} s`;
  t.diagnostic(durations);
  console.log(durations);

  // 4. The same content, read through the new host's daemons.
  const afterState = await podState();
  assert.deepEqual(afterState.mail, before.mail, "every mailbox has the same messages, byte for byte, with the same passwords");
  assert.deepEqual(afterState.chatFiles, before.chatFiles, "chat archives, rosters, vcards and uploads are the same files");
  assert.deepEqual(afterState.sieve, before.sieve, "the sieve script is back");
  assert.deepEqual(afterState.dkim, before.dkim, "the DKIM key is unchanged");
  const got = await podRequest(pods, pods.b, "GET", uploaded.getUrl);
  assert.equal(got.status, 200, "the uploaded file is served again at its URL");
  assert.ok(got.body.equals(uploaded.bytes), "the same bytes");
});

test("after the move, b (Debian 13) and a sign and verify mail both ways, and chat crosses, roster intact", async (t) => {
  const subject = token("after-move");
  await submit(pods, pods.b, "dave@b.test", pods.b.password("dave-password"), { to: "alice@a.test", subject, text: "signed on Debian 13 with the key from 12" });
  const raw = await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject, 60_000);
  const auth = await authenticate(raw, {
    ip: pods.b.ip, helo: pods.b.mx, sender: "dave@b.test", mta: pods.a.mx,
    resolver: (name: string, rr: string) => pods.resolver.resolve(name, rr as "TXT") as Promise<any>,
  });
  const dkim = auth.dkim.results.find((r: any) => r.signingDomain === "b.test");
  t.diagnostic(`mailauth: dkim=${dkim?.status.result} spf=${auth.spf.status.result} dmarc=${auth.dmarc.status.result}`);
  assert.equal(dkim?.status.result, "pass", "the moved pod signs with the key DNS publishes");
  assert.equal(auth.dmarc.status.result, "pass");
  const back = token("reply-after-move");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "bob@b.test", subject: back, text: "and back" });
  await fetchBySubject(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), back, 60_000);

  const { xml } = xmlLib();
  const bob = await login(pods, pods.b, "bob", pods.b.password("bob-password"));
  open.push(bob);
  const roster = await bob.iq(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
  const items = roster.getChild("query", "jabber:iq:roster")!.getChildren("item").map((i) => i.attrs.jid);
  assert.ok(items.includes("alice@a.test"), `bob's roster came along: ${items.join(", ")}`);
  const alice = await login(pods, pods.a, "alice", pods.a.password("alice-password"));
  open.push(alice);
  await chatBothWays(alice, bob, "after-move", 30_000);
});
