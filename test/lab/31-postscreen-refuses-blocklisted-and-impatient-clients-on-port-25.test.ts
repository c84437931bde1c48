// Port 25 of a lab pod is answered by postscreen. A client the lab's blocklist
// (bl.lab.test, the lab stacks' mail.dnsbl) lists gets 550 at RCPT TO and
// nothing is queued; an unlisted client delivers as before, through postscreen
// to smtpd; a client that talks before the greeting (a bot) is refused. The
// clients are extra addresses of the outer machine on the lab bridge: not the
// admin address, and not the addresses the banning tests use.
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import * as net from "node:net";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { LAB } from "../../lib/lab/config";
import { removeLabRecord, setLabRecord } from "../../lib/lab/dns";
import { onHost, run } from "./helpers";
import { deliveredTo } from "./mailboxes";
import { token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";

const LISTED = "10.77.0.96";
const UNLISTED = "10.77.0.97";
/** postscreen remembers a client that passed the pregreet test for a day: a new address each run. */
const IMPATIENT = `10.77.0.${randomInt(150, 250)}`;
const CLIENTS = [LISTED, UNLISTED, IMPATIENT];
/** The blocklist name of an address, as every DNSBL spells it: octets reversed, under the zone. */
const blOwner = (ip: string) => `${ip.split(".").reverse().join(".")}.bl`;
/** A sender whose domain resolves (smtpd checks it) and publishes no SPF or DMARC. */
const SENDER = "visitor@gw.lab.test";

let pods: Pods;
let since: number;

before(async () => {
  pods = await ensurePods(["a"]);
  for (const ip of CLIENTS) {
    const r = await run("ip", ["addr", "add", `${ip}/32`, "dev", LAB.bridge]);
    assert.ok(r.code === 0 || /File exists/.test(r.stderr), r.stderr);
  }
  // Listed before its first connection: a pod's resolver would otherwise keep "not listed" a few seconds.
  await setLabRecord(LAB.labZone, blOwner(LISTED), "A", "127.0.0.2");
  since = Math.floor(Date.now() / 1000) - 1;
});

after(async () => {
  await removeLabRecord(LAB.labZone, blOwner(LISTED), "A").catch(() => undefined);
  for (const ip of CLIENTS) await run("ip", ["addr", "del", `${ip}/32`, "dev", LAB.bridge]);
});

/** What postscreen logged on host a since the test began. */
async function postscreenLog(): Promise<string> {
  const r = await onHost(pods.lab, "a", `journalctl SYSLOG_IDENTIFIER=postfix/postscreen --since @${since} --no-pager -o cat`);
  return r.stdout;
}

function transportFrom(localAddress: string) {
  return nodemailer.createTransport({
    host: pods.a.ip, port: 25, localAddress, name: "client.lab.test",
    // The first connection of a new client waits out postscreen's pregreet test (6 s).
    greetingTimeout: 30_000,
    tls: { servername: pods.a.mx, ca: pods.ca },
  });
}

test("a client the lab's blocklist lists is refused at RCPT TO with postscreen's 550, and the log says which list", async (t) => {
  const subject = token("listed");
  const transport = transportFrom(LISTED);
  try {
    await assert.rejects(
      transport.sendMail({ from: SENDER, to: "alice@a.test", subject, text: "from a listed address" }),
      (err: any) => {
        t.diagnostic(`reply: ${err.response}`);
        assert.equal(err.responseCode, 550, err.response);
        assert.match(err.response, /^550 5\.7\.1 Service unavailable; client \[10\.77\.0\.96\] blocked using bl\.lab\.test$/);
        return true;
      },
    );
  } finally {
    transport.close();
  }
  const log = await postscreenLog();
  assert.match(log, /^DNSBL rank 3 for \[10\.77\.0\.96\]:\d+$/m, log);
  assert.match(log, /^NOQUEUE: reject: RCPT from \[10\.77\.0\.96\]:\d+: 550 5\.7\.1 Service unavailable; client \[10\.77\.0\.96\] blocked using bl\.lab\.test; from=<visitor@gw\.lab\.test>, to=<alice@a\.test>/m, log);
  // postscreen never hands the client to smtpd: nothing was queued.
  const smtpd = await onHost(pods.lab, "a", `journalctl SYSLOG_IDENTIFIER=postfix/smtpd --since @${since} --no-pager -o cat | grep -F '[${LISTED}]' || true`);
  assert.equal(smtpd.stdout.trim(), "", "smtpd never talked to the listed client");
});

test("an unlisted client passes postscreen and its mail reaches the inbox", async () => {
  const subject = token("unlisted");
  const transport = transportFrom(UNLISTED);
  try {
    const sent = await transport.sendMail({ from: SENDER, to: "alice@a.test", subject, text: "from an address no list names" });
    assert.match(sent.response, /^250 /);
  } finally {
    transport.close();
  }
  // Delivered: in the inbox, or in Junk should the filter score a stranger without reverse DNS that high.
  const folder = await deliveredTo(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject);
  assert.ok(folder === "INBOX" || folder === "Junk", `delivered to ${folder}`);
  const log = await postscreenLog();
  // NEW on the lab's first run, OLD when an earlier run passed it within the day.
  assert.match(log, /^PASS (NEW|OLD) \[10\.77\.0\.97\]:\d+$/m, log);
});

test("a client that talks before the greeting is refused with 550 5.5.1 (pregreet)", async (t) => {
  const replies = await impatientSession(IMPATIENT);
  t.diagnostic(`from ${IMPATIENT}: ${replies.join(" | ")}`);
  assert.match(replies.at(-1)!, /^550 5\.5\.1 Protocol error/, replies.join("\n"));
  const log = await postscreenLog();
  assert.match(log, new RegExp(`^PREGREET \\d+ after [\\d.]+ from \\[${IMPATIENT.replace(/\./g, "\\.")}\\]:\\d+: EHLO bot\\.lab\\.test`, "m"), log);
});

/**
 * Sends EHLO before the server's greeting is complete, as spam bots do, then MAIL and RCPT;
 * returns the final reply lines. postscreen answers the early EHLO right after the first
 * line of its greeting ("220-"), without the final "220 " line.
 */
function impatientSession(localAddress: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: pods.a.ip, port: 25, localAddress });
    const finals: string[] = [];
    const script = ["MAIL FROM:<bot@gw.lab.test>", "RCPT TO:<alice@a.test>", "QUIT"];
    let buffer = "";
    socket.setTimeout(30_000, () => socket.destroy(new Error(`no reply within 30 s; so far: ${finals.join(" | ")}`)));
    // Before a byte of the greeting arrives.
    socket.once("connect", () => socket.write("EHLO bot.lab.test\r\n"));
    socket.on("data", (d) => {
      buffer += d.toString();
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        // Only a reply's last line, and not a (complete) greeting: the early EHLO's reply is still to come.
        if (!/^\d{3} /.test(line) || line.startsWith("220 ")) continue;
        finals.push(line);
        const next = script[finals.length - 1];
        if (next) socket.write(`${next}\r\n`);
        if (line.startsWith("5") || !next) {
          socket.end();
          resolve(finals);
          return;
        }
      }
    });
    socket.once("error", reject);
    socket.once("close", () => resolve(finals));
  });
}
