// Port 25 as the internet meets it: a client the stack's DNS blocklist lists is
// turned away by postscreen before any message; an unlisted one delivers; and an
// SMTP smuggling probe (a bare-LF end of data hiding a second message) gives one
// message, never two.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { removeLabRecord, setLabRecord } from "../../lib/lab/dns";
import { fetchBySubject, token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";
import { deliver, rawSmtp, withBridgeAddress } from "./smtp";

const LISTED = "10.77.0.99";
const UNLISTED = "10.77.0.98";
const LISTING = `${LISTED.split(".").reverse().join(".")}.bl`;

let pods: Pods;
before(async () => {
  pods = await ensurePods(["a"]);
  await setLabRecord("lab.test", LISTING, "A", "127.0.0.2");
});
after(async () => {
  await removeLabRecord("lab.test", LISTING, "A");
});

test("a client listed in the lab's blocklist is refused by postscreen; an unlisted client delivers", async (t) => {
  const refused = token("listed");
  await withBridgeAddress(LISTED, () =>
    assert.rejects(
      deliver(pods, pods.a, { from: "someone@gw.lab.test", to: "alice@a.test", subject: refused, text: "from a listed address", localAddress: LISTED }),
      (e: any) => {
        t.diagnostic(`listed client: ${e.command} -> ${e.response}`);
        return e.responseCode === 550 && /bl\.lab\.test/.test(e.response);
      },
    ));

  const welcome = token("unlisted");
  await withBridgeAddress(UNLISTED, async () => {
    const sent = await deliver(pods, pods.a, { from: "someone@gw.lab.test", to: "alice@a.test", subject: welcome, text: "from an unlisted address", localAddress: UNLISTED });
    assert.match(sent.response, /^250 /);
  });
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), welcome);
});

test("a smuggling probe (bare LF before the dot) delivers one message whose body holds the second, never two", async () => {
  const first = token("carrier");
  const second = token("smuggled");
  const smtp = await rawSmtp(pods.a.ip, 25);
  try {
    assert.equal((await smtp.reply()).code, 220);
    smtp.send("EHLO gw.lab.test\r\n");
    assert.equal((await smtp.reply()).code, 250);
    for (const cmd of ["MAIL FROM:<carrier@gw.lab.test>", "RCPT TO:<alice@a.test>"]) {
      smtp.send(`${cmd}\r\n`);
      assert.equal((await smtp.reply()).code, 250, cmd);
    }
    smtp.send("DATA\r\n");
    assert.equal((await smtp.reply()).code, 354);
    // <LF>.<CR><LF>: the end of data for a server that accepts a bare LF (CVE-2023-51764).
    smtp.send(
      `From: <carrier@gw.lab.test>\r\nTo: <alice@a.test>\r\nSubject: ${first}\r\n\r\nfirst part\n.\r\n` +
      `MAIL FROM:<mallory@gw.lab.test>\r\nRCPT TO:<alice@a.test>\r\nDATA\r\n` +
      `From: <alice@a.test>\r\nTo: <alice@a.test>\r\nSubject: ${second}\r\n\r\nsmuggled part\r\n.\r\n`,
    );
    const replies = [await smtp.reply()];
    smtp.send("QUIT\r\n");
    replies.push(...(await Promise.allSettled([smtp.reply(5000), smtp.reply(2000), smtp.reply(2000)]))
      .flatMap((r) => (r.status === "fulfilled" ? [r.value] : [])));
    assert.equal(replies.filter((r) => r.code === 250).length, 1, `one message accepted: ${JSON.stringify(replies)}`);
  } finally {
    await smtp.close();
  }
  const raw = (await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), first)).toString();
  assert.ok(raw.includes(second), "the smuggled lines are part of the first message's body");
  await assert.rejects(fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), second, 5000), /no message/);
});
