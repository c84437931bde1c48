// The rebuild drill. Pod a.test holds mail for
// several accounts, a sieve script and chat history; a backup is taken; host a
// is destroyed and a new, empty host with a new host key takes its address;
// `podkit apply` then `podkit restore` bring the pod back. Every mailbox has the
// same messages, the chat archives are the same files, the same passwords log
// in, the DKIM key is the one DNS publishes, and mail and chat cross the pods
// again. The drill's durations are printed for the record.
import assert from "node:assert/strict";
import { authenticate } from "mailauth";
import { after, before, test } from "node:test";
import { readLabState } from "../../lib/lab/state";
import { fileDigest, mailboxDigest, must } from "./backups";
import { onHost, podkit } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";
import { chatBody, login, xmlLib, type Session } from "./xmppclients";

let pods: Pods;
const open: Session[] = [];
before(async () => {
  pods = await ensurePods();
});
after(async () => {
  await Promise.all(open.map((s) => s.stop()));
});

const ACCOUNTS = [["alice@a.test", "alice-password"], ["carol@a.test", "carol-password"]] as const;
const SIEVE = "/var/mail/vhosts/a.test/carol/sieve";

async function chat(from: "a" | "b", user: string, secret: string, to: string, body: string, receiver?: Session): Promise<void> {
  const { xml } = xmlLib();
  const pod = from === "a" ? pods.a : pods.b;
  const s = await login(pods, pod, user, pod.password(secret));
  open.push(s);
  await s.xmpp.send(xml("message", { to, type: "chat" }, xml("body", {}, body)));
  if (receiver) await receiver.waitFor((el) => el.is("message") && chatBody(el) === body, 20_000, `"${body}"`);
  await s.stop();
}

async function podState() {
  const mail: Record<string, Record<string, string[]>> = {};
  for (const [user, secret] of ACCOUNTS) mail[user] = await mailboxDigest(pods, pods.a, user, pods.a.password(secret));
  const chatFiles = await fileDigest(pods, "a", "/var/lib/prosody/*/archive /var/lib/prosody/*/roster /var/lib/prosody/*/vcard");
  const sieve = await fileDigest(pods, "a", SIEVE);
  const dkim = await fileDigest(pods, "a", "/etc/dkimkeys");
  return { mail, chatFiles, sieve, dkim };
}

test("the rebuild drill: backup, a new empty host, apply, restore — every mailbox, chat archive, password and the DKIM key come back", async (t) => {
  // 1. The pod holds mail for several accounts (local and from the other pod), a sieve script and chat history.
  const tag = token("drill");
  const mails: [LabPodName, string, string, string][] = [
    ["a", "alice@a.test", "alice-password", "carol@a.test"],
    ["a", "carol@a.test", "carol-password", "alice@a.test"],
    ["a", "alice@a.test", "alice-password", "carol@a.test"],
    ["b", "bob@b.test", "bob-password", "alice@a.test"],
    ["b", "dave@b.test", "dave-password", "carol@a.test"],
  ];
  for (const [i, [pod, from, secret, to]] of mails.entries()) {
    await submit(pods, pods[pod], from, pods[pod].password(secret), { to, subject: `${tag}-${i}`, text: `message ${i} of the drill, from ${from} to ${to}` });
  }
  for (const [i, [, , , to]] of mails.entries()) {
    const secret = to.startsWith("alice") ? "alice-password" : "carol-password";
    await fetchBySubject(pods, pods.a, to, pods.a.password(secret), `${tag}-${i}`);
  }
  await onHost(pods.lab, "a", `install -d -o vmail -g vmail ${SIEVE} && printf 'require "fileinto";\\n# ${tag}\\nif header :contains "subject" "newsletter" { fileinto "INBOX"; }\\n' > ${SIEVE}/drill.sieve && chown vmail:vmail ${SIEVE}/drill.sieve`);
  const carol = await login(pods, pods.a, "carol", pods.a.password("carol-password"));
  open.push(carol);
  await chat("a", "alice", "alice-password", "carol@a.test", `chat ${tag} alice to carol`, carol);
  await chat("b", "bob", "bob-password", "alice@a.test", `chat ${tag} bob to alice (offline, archived)`);
  await chat("a", "carol", "carol-password", "bob@b.test", `chat ${tag} carol to bob`);
  await carol.stop();
  // Let Prosody write what it archived before the copy is taken.
  await new Promise((r) => setTimeout(r, 1000));

  const before = await podState();
  const messages = Object.values(before.mail).flatMap((boxes) => Object.values(boxes)).flat().length;
  t.diagnostic(`before: ${messages} messages in ${ACCOUNTS.length} accounts, ${Object.keys(before.chatFiles).length} chat files, sieve and DKIM key`);
  assert.ok(messages >= mails.length);
  assert.ok(Object.keys(before.chatFiles).some((f) => f.includes("/archive/")), "there is a chat archive to back up");

  // 2. Backup.
  const backup = await must("backup", "stacks/lab-a.yaml");
  // The snapshot to restore is named, as an admin names it: podkit picks none.
  const snapshot = /snapshot ([0-9a-f]{8,64}) saved/.exec(backup.stdout)?.[1];
  assert.ok(snapshot, `podkit backup names the snapshot it saved:\n${backup.stdout}`);

  // 3. The host is gone; a new, empty one answers at its address with a new host key.
  const t0 = Date.now();
  await must("lab", "recreate", "a");
  pods.lab = readLabState()!; // the new host key is pinned from here on
  const empty = await onHost(pods.lab, "a", "test -e /var/mail/vhosts || test -e /etc/postfix; echo $?");
  assert.equal(empty.stdout.trim(), "1", "the new host is empty");
  const refused = await podkit("restore", "stacks/lab-a.yaml", "--snapshot", snapshot);
  assert.equal(refused.code, 1, `restore on a host that is not applied is refused:\n${refused.stdout}${refused.stderr}`);
  assert.match(refused.stderr, /not applied yet.*podkit apply stacks\/lab-a\.yaml/);
  await must("apply", "stacks/lab-a.yaml");
  const rebuildSeconds = (Date.now() - t0) / 1000;

  // 4. Restore.
  const restore = await must("restore", "stacks/lab-a.yaml", "--snapshot", snapshot);
  t.diagnostic(restore.stdout.trim().split("\n").slice(-2).join(" | "));

  const durations = `drill durations: backup ${backup.seconds.toFixed(1)} s, rebuild (new host + apply) ${rebuildSeconds.toFixed(1)} s, restore ${restore.seconds.toFixed(1)} s`;
  t.diagnostic(durations);
  console.log(durations);

  // 5. The same mailboxes (logging in with the same passwords), chat archives, sieve script, DKIM key.
  const afterState = await podState();
  assert.deepEqual(afterState.mail, before.mail, "every mailbox has the same messages, byte for byte");
  assert.deepEqual(afterState.chatFiles, before.chatFiles, "chat archives, rosters and vcards are the same files");
  assert.deepEqual(afterState.sieve, before.sieve, "the sieve script is back");
  assert.deepEqual(afterState.dkim, before.dkim, "the DKIM key is unchanged");
});

test("after the drill mail from a verifies against the published DKIM key, and mail and chat cross the pods both ways", async (t) => {
  const subject = token("after-drill");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "bob@b.test", subject, text: "signed by the restored pod" });
  const raw = await fetchBySubject(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), subject, 60_000);
  const auth = await authenticate(raw, {
    ip: pods.a.ip, helo: pods.a.mx, sender: "alice@a.test", mta: pods.b.mx,
    resolver: (name: string, rr: string) => pods.resolver.resolve(name, rr as "TXT") as Promise<any>,
  });
  const dkim = auth.dkim.results.find((r: any) => r.signingDomain === "a.test");
  t.diagnostic(`mailauth: dkim=${dkim?.status.result} dmarc=${auth.dmarc.status.result}`);
  assert.equal(dkim?.status.result, "pass", "the restored pod signs with the key DNS publishes");

  const back = token("reply-after-drill");
  await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "carol@a.test", subject: back, text: "and back" });
  await fetchBySubject(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), back, 60_000);

  const bob = await login(pods, pods.b, "bob", pods.b.password("bob-password"));
  open.push(bob);
  await chat("a", "alice", "alice-password", "bob@b.test", token("chat-after-drill"), bob);
  const alice = await login(pods, pods.a, "alice", pods.a.password("alice-password"));
  open.push(alice);
  const { xml } = xmlLib();
  const reply = token("chat-reply-after-drill");
  await bob.xmpp.send(xml("message", { to: "alice@a.test", type: "chat" }, xml("body", {}, reply)));
  await alice.waitFor((el) => el.is("message") && chatBody(el) === reply, 30_000, "bob's reply");
});

type LabPodName = "a" | "b";
