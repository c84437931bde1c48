// SMTP smuggling (CVE-2023-51764) through port 25, which postscreen answers and
// hands to smtpd: a client ends DATA with a non-standard sequence (a bare LF or
// CR around the dot) that another server might take as the end, and puts a
// second message for another member after it. The pod must take one message,
// with the second one as part of its text: one reply to the whole DATA, no
// reply to the smuggled commands, and nothing for the second recipient.
// (Debian 12's Postfix 3.7 does this only with smtpd_forbid_bare_newline set;
// without it, the smuggled MAIL and RCPT are answered 250.)
import assert from "node:assert/strict";
import * as net from "node:net";
import { before, test } from "node:test";
import { deliveredTo, foldersWith } from "./mailboxes";
import { token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";

/** End-of-DATA look-alikes that some servers accept and RFC 5321 does not. */
const FAKE_ENDS: Record<string, string> = {
  "LF . CRLF": "\n.\r\n",
  "CRLF . LF": "\r\n.\n",
  "LF . LF": "\n.\n",
  "CR . CR": "\r\n.\r",
  "CR . CRLF": "\r.\r\n",
};
const SENDER = "visitor@gw.lab.test";

let pods: Pods;
before(async () => {
  pods = await ensurePods(["a"]);
});

for (const [name, fakeEnd] of Object.entries(FAKE_ENDS)) {
  test(`DATA ending in "${name}" with a second message after it gives one message, and the second recipient nothing`, async (t) => {
    const first = token("smuggle-carrier");
    const second = token("smuggled");
    const payload = `Subject: ${first}\r\n\r\nThe carrier.${fakeEnd}`
      + `MAIL FROM:<${SENDER}>\r\nRCPT TO:<carol@a.test>\r\nDATA\r\nSubject: ${second}\r\n\r\nSmuggled.\r\n.\r\n`;
    const afterData = await session(payload);
    t.diagnostic(`replies after DATA: ${afterData.join(" | ")}`);
    assert.match(afterData[0], /^250 2\.0\.0 Ok: queued as [0-9A-F]+$/, afterData.join("\n"));
    assert.deepEqual(afterData.slice(1), ["221 2.0.0 Bye"], "no reply to any smuggled command");

    await deliveredTo(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), first);
    assert.deepEqual(await foldersWith(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), second), [], "carol got no second message");
  });
}

/**
 * One SMTP session to a's port 25 from the outer machine: EHLO, MAIL, RCPT and DATA one at a
 * time, then `payload` in one write and QUIT after its reply; returns every reply line after the 354.
 */
function session(payload: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: pods.a.ip, port: 25 });
    const steps = ["EHLO client.lab.test", `MAIL FROM:<${SENDER}>`, "RCPT TO:<alice@a.test>", "DATA"];
    const afterData: string[] = [];
    let sentPayload = false;
    let buffer = "";
    socket.setTimeout(60_000, () => socket.destroy(new Error(`no end within 60 s; after DATA: ${afterData.join(" | ")}`)));
    socket.on("data", (d) => {
      buffer += d.toString("latin1");
      let end: number;
      while ((end = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!/^\d{3} /.test(line)) continue;
        if (sentPayload) {
          // QUIT once the message is answered; anything else the server answers shows anyway.
          if (!afterData.length) socket.write("QUIT\r\n");
          afterData.push(line);
          continue;
        }
        if (!/^[23]/.test(line)) {
          socket.destroy(new Error(`refused before the payload: ${line}`));
          return;
        }
        const next = steps.shift();
        if (next) socket.write(`${next}\r\n`);
        else if (line.startsWith("354")) {
          sentPayload = true;
          socket.write(payload);
        }
      }
    });
    socket.once("error", reject);
    socket.once("close", () => resolve(afterData));
  });
}
