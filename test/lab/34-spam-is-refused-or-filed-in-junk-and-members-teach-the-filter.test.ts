// What a pod does with spam, seen from outside and from a member's mail client:
// GTUBE is refused during the SMTP dialogue (nothing stored, nothing queued), mail
// that scores between the junk and reject thresholds lands in Junk, and moving a
// message into Junk over IMAP teaches rspamd's Bayes classifier.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { ImapFlow } from "imapflow";
import { onHost } from "./helpers";
import { imapClient, token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";
import { deliver } from "./smtp";

const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

let pods: Pods;
before(async () => {
  pods = await ensurePods(["a"]);
});

function imap(user: string, secret: string): Promise<ImapFlow> {
  return imapClient(pods, pods.a, user, pods.a.password(secret));
}

/** UIDs of messages in `mailbox` whose subject contains `subject`. */
async function find(client: ImapFlow, mailbox: string, subject: string): Promise<number[]> {
  const lock = await client.getMailboxLock(mailbox);
  try {
    return ((await client.search({ subject }, { uid: true })) || []) as number[];
  } finally {
    lock.release();
  }
}

async function waitIn(client: ImapFlow, mailbox: string, subject: string, ms = 30_000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const uids = await find(client, mailbox, subject);
    if (uids.length || Date.now() > deadline) return uids;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * How many messages rspamd has learned, from `rspamc stat` on the pod: its "Messages learned"
 * counter moves at once (the per-statfile counts come from Redis a while later).
 */
async function learned(): Promise<number> {
  const r = await onHost(pods.lab, "a", "rspamc stat");
  assert.equal(r.code, 0, r.stderr);
  const m = r.stdout.match(/^Messages learned: (\d+)/m);
  assert.ok(m, `rspamc stat shows how many messages were learned:\n${r.stdout}`);
  return Number(m[1]);
}

// Enough distinct words for Bayes to take the message (it skips very short ones).
const PROSE = "Dear friend, our community garden needs volunteers this weekend for planting tomatoes, beans, " +
  "squash and herbs along the southern fence, and we would welcome anyone bringing gloves, spades, watering cans, " +
  "seedlings or simply good company and a thermos of tea to share with the neighbours.";

test("GTUBE from another server is refused with a 5xx during DATA, and nothing is delivered or queued", async (t) => {
  const subject = token("gtube");
  const sender = `${subject}@b.test`;
  await assert.rejects(
    deliver(pods, pods.a, { from: sender, to: "alice@a.test", subject, text: `${PROSE}\n\n${GTUBE}\n` }),
    (e: any) => {
      t.diagnostic(`refused after ${e.command}: ${e.response}`);
      // After the message was sent (the end of DATA), not at RCPT: the filter saw it and said no.
      return e.responseCode >= 500 && e.responseCode < 600 && /DATA/i.test(String(e.command));
    },
  );
  const client = await imap("alice@a.test", "alice-password");
  try {
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(await find(client, "INBOX", subject), [], "not in INBOX");
    assert.deepEqual(await find(client, "Junk", subject), [], "not in Junk");
  } finally {
    await client.logout();
  }
  const queue = await onHost(pods.lab, "a", "postqueue -j");
  assert.ok(!queue.stdout.includes(sender), `nothing queued from ${sender}:\n${queue.stdout}`);
});

test("mail scoring between the junk and reject thresholds lands in Junk, not INBOX; moving one into Junk teaches rspamd", async (t) => {
  // From another server that skips what every real one does: no Message-ID, no Date,
  // a shouting subject, a sender domain whose SPF does not list the lab gateway.
  const subject = token("JUNK");
  const shout = `FREE MONEY WINNER CLAIM NOW ${subject}`;
  await deliver(pods, pods.a, {
    from: "prize@b.test", to: "carol@a.test", subject: shout, text: "",
    raw: [
      "From: PRIZE DEPARTMENT <prize@b.test>", "To: carol@a.test", `Subject: ${shout}`, "MIME-Version: 1.0",
      "Content-Type: text/html", "", `<html><body><p>CLICK HERE NOW!!! You have WON $1,000,000 USD.</p>`,
      `<a href="http://10.1.2.3/claim">Send your bank details today</a><p>${PROSE}</p></body></html>`, "",
    ].join("\r\n"),
  });
  const client = await imap("carol@a.test", "carol-password");
  try {
    const junk = await waitIn(client, "Junk", subject);
    const inbox = await find(client, "INBOX", subject);
    let headers = "";
    if (junk.length || inbox.length) {
      const lock = await client.getMailboxLock(junk.length ? "Junk" : "INBOX");
      try {
        const msg = await client.fetchOne(String((junk.length ? junk : inbox)[0]), { headers: true }, { uid: true });
        headers = msg ? msg.headers!.toString() : "";
      } finally {
        lock.release();
      }
    }
    t.diagnostic(`spam headers: ${headers.split("\r\n").filter((l) => /^X-Spam|^X-Rspamd/i.test(l)).join(" | ")}`);
    assert.deepEqual(inbox, [], `the message is not in INBOX:\n${headers}`);
    assert.equal(junk.length, 1, `the message is in Junk:\n${headers}`);
    assert.match(headers, /^X-Spam: Yes/im);

    // A member's own judgement: a clean-looking message moved into Junk is learned as spam.
    const before = await learned();
    const plain = token("teach");
    await deliver(pods, pods.a, { from: "neighbour@gw.lab.test", to: "carol@a.test", subject: `Garden news ${plain}`, text: PROSE });
    const [uid] = await waitIn(client, "INBOX", plain);
    assert.ok(uid, "the plain message arrived in INBOX");
    const lock = await client.getMailboxLock("INBOX");
    try {
      await client.messageMove(String(uid), "Junk", { uid: true });
    } finally {
      lock.release();
    }
    let after = before;
    for (let i = 0; i < 60 && after === before; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await learned();
    }
    t.diagnostic(`messages learned: ${before} -> ${after}`);
    assert.equal(after, before + 1, "moving the message into Junk taught rspamd one message");
    const log = await onHost(pods.lab, "a", "journalctl -u rspamd --since -5min -o cat --no-pager | grep -i 'learn' | tail -n 3");
    t.diagnostic(`rspamd: ${log.stdout.trim().replace(/\n/g, " | ")}`);
  } finally {
    await client.logout();
  }
});
