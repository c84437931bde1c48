// Mail between the two lab pods, sent and read by
// real clients, arrives DKIM-signed with SPF and DMARC passing over an
// encrypted hop; the MX relays for nobody and offers AUTH only inside TLS.
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { before, test } from "node:test";
import { authenticate } from "mailauth";
import nodemailer from "nodemailer";
import { fetchBySubject, submit, token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";

let pods: Pods;
before(async () => {
  pods = await ensurePods();
});

test("alice@a.test submits on 587 to bob@b.test, bob reads it over IMAPS: DKIM, SPF and DMARC pass, the hop was TLS", async (t) => {
  const subject = token("cross-pod");
  const body = `Hello Bob, this is ${subject}.`;
  const sent = await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "bob@b.test", subject, text: body });
  assert.match(sent.response, /^250 /);

  const raw = await fetchBySubject(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), subject);
  const text = raw.toString();
  assert.ok(text.includes(body), "the body arrived intact");

  // Verify as a receiver on the internet would, from the message and the hop it came over.
  const auth = await authenticate(raw, {
    ip: pods.a.ip, helo: pods.a.mx, sender: "alice@a.test", mta: pods.b.mx,
    resolver: (name: string, rr: string) => pods.resolver.resolve(name, rr as "TXT") as Promise<any>,
  });
  const dkim = auth.dkim.results.find((r: any) => r.signingDomain === "a.test");
  t.diagnostic(`mailauth: dkim=${dkim?.status.result} spf=${auth.spf.status.result} dmarc=${auth.dmarc.status.result}`);
  assert.equal(dkim?.status.result, "pass", "DKIM signature of a.test verifies against the published key");
  assert.equal(auth.spf.status.result, "pass");
  assert.equal(auth.dmarc.status.result, "pass");

  // b's own checks agree (its Authentication-Results, RFC 8601), and b's Received header says how a's server spoke to it.
  const results = authResults(text, "mx.b.test");
  assert.match(results, /\bdkim=pass\b[^;]*header\.d=a\.test/, results);
  assert.match(results, /\bspf=pass\b/, results);
  assert.match(results, /\bdmarc=pass\b/, results);
  const hop = text.match(/^Received: from mx\.a\.test[\s\S]*?(?=^\S)/m)?.[0] ?? "";
  assert.match(hop, /using TLSv1\.[23] with cipher/, `the hop from a to b was encrypted:\n${hop}`);
  // The test client submitted from the lab gateway's address: no header may name it.
  assert.doesNotMatch(text, new RegExp(`(?<![\\d.])${pods.lab.gateway.replace(/\./g, "\\.")}(?![\\d])`), "the submitting client's address is in no header");
});

test("an unauthenticated client cannot relay through the MX to a third domain", async () => {
  const transport = nodemailer.createTransport({ host: pods.a.ip, port: 25, tls: { servername: pods.a.mx, ca: pods.ca } });
  try {
    await assert.rejects(
      transport.sendMail({ from: "stranger@b.test", to: "someone@third.example", subject: "relay?", text: "no" }),
      (err: any) => err.responseCode === 554 && /Relay access denied/.test(err.response),
    );
  } finally {
    transport.close();
  }
});

test("AUTH is offered only after TLS on 587, never on port 25, and wrong passwords fail", async () => {
  const plain = await ehlo(pods.a.ip, 587);
  assert.ok(plain.includes("STARTTLS") && !plain.some((l) => l.startsWith("AUTH")), `587 before TLS: ${plain.join(" | ")}`);
  const secured = await ehlo(pods.a.ip, 587, true);
  assert.ok(secured.some((l) => /^AUTH .*PLAIN/.test(l)), `587 after STARTTLS: ${secured.join(" | ")}`);
  const mx = await ehlo(pods.a.ip, 25, true);
  assert.ok(!mx.some((l) => l.startsWith("AUTH")), `25 after STARTTLS: ${mx.join(" | ")}`);
  await assert.rejects(submit(pods, pods.a, "alice@a.test", "not-her-password", { to: "bob@b.test", subject: "x", text: "x" }), (e: any) => e.responseCode === 535);
});

test("a member cannot send as someone else's address", async () => {
  await assert.rejects(
    submit(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), { from: "alice@a.test", to: "bob@b.test", subject: "spoof", text: "x" }),
    (e: any) => e.responseCode === 553 && /not owned by user/.test(e.response),
  );
});

/** Every Authentication-Results header `authserv` added, unfolded, one per line. */
function authResults(message: string, authserv: string): string {
  const head = message.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ");
  return head.split(/\r?\n/).filter((l) => l.toLowerCase().startsWith(`authentication-results: ${authserv};`)).join("\n");
}

/** EHLO capabilities, optionally after STARTTLS (certificate verified). */
async function ehlo(host: string, port: number, starttls = false): Promise<string[]> {
  let socket: net.Socket | tls.TLSSocket = net.connect(port, host);
  let buffer = "";
  const reply = () => new Promise<string[]>((resolve, reject) => {
    const onData = (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split("\r\n").filter(Boolean);
      const last = lines.at(-1);
      if (last && /^\d{3} /.test(last)) {
        socket.off("data", onData);
        buffer = "";
        resolve(lines.map((l) => l.slice(4)));
      }
    };
    socket.on("data", onData);
    socket.once("error", reject);
  });
  try {
    await reply();
    socket.write("EHLO client.test\r\n");
    let caps = await reply();
    if (starttls) {
      socket.write("STARTTLS\r\n");
      await reply();
      socket = tls.connect({ socket: socket as net.Socket, servername: host === pods.a.ip ? pods.a.mx : pods.b.mx, ca: pods.ca });
      await new Promise((r, j) => (socket as tls.TLSSocket).once("secureConnect", r).once("error", j));
      socket.write("EHLO client.test\r\n");
      caps = await reply();
    }
    socket.write("QUIT\r\n");
    return caps;
  } finally {
    socket.destroy();
  }
}
