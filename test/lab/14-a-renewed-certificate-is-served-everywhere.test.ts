// A renewal from the lab CA (forced, as certbot.timer
// would do near expiry) makes Postfix, Dovecot and nginx serve the new
// certificate by themselves: certbot's deploy hook runs each role's reload.d.
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { before, test } from "node:test";
import { onHost } from "./helpers";
import { ensurePods, type Pods } from "./pods";

let pods: Pods;
before(async () => {
  pods = await ensurePods();
});

/** Serial of the certificate a service presents, verified against the lab CA. */
async function serial(port: number, servername: string, starttls?: "smtp"): Promise<string> {
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    if (!starttls) {
      const s = tls.connect({ host: pods.a.ip, port, servername, ca: pods.ca }, () => resolve(s));
      s.once("error", reject);
      return;
    }
    const raw = net.connect(port, pods.a.ip);
    // SMTP STARTTLS: banner, EHLO, STARTTLS, then the TLS handshake on the same socket.
    let step: "banner" | "ehlo" | "starttls" = "banner";
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (!/^\d{3} .*\r\n$/m.test(buf)) return; // wait for a complete final reply line
      const reply = buf;
      buf = "";
      if (step === "banner") { step = "ehlo"; raw.write("EHLO t.test\r\n"); }
      else if (step === "ehlo") { step = "starttls"; raw.write("STARTTLS\r\n"); }
      else if (/^220 /m.test(reply)) {
        raw.off("data", onData);
        const s = tls.connect({ socket: raw, servername, ca: pods.ca }, () => resolve(s));
        s.once("error", reject);
      } else reject(new Error(`STARTTLS refused: ${reply}`));
    };
    raw.on("data", onData);
    raw.once("error", reject);
  });
  const cert = socket.getPeerCertificate();
  socket.destroy();
  return cert.serialNumber;
}

const services = () => Promise.all([serial(25, pods.a.mx, "smtp"), serial(993, pods.a.mx), serial(465, pods.a.mx), serial(443, "mta-sts.a.test")]);

test("after a forced renewal Postfix, Dovecot and nginx present the new certificate, with no manual step", async (t) => {
  const old = await services();
  assert.equal(new Set(old).size, 1, `every service serves the one host certificate: ${old}`);
  const renew = await onHost(pods.lab, "a", "certbot renew --force-renewal --no-random-sleep-on-renew --cert-name mx.a.test 2>&1");
  assert.equal(renew.code, 0, renew.stdout + renew.stderr);
  // Reloads are asynchronous in the daemons: give them until a deadline to pick it up.
  const deadline = Date.now() + 15_000;
  let now = await services();
  while (now.some((s) => s === old[0]) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    now = await services();
  }
  t.diagnostic(`serial before ${old[0]}, after ${now.join(" ")}`);
  assert.equal(new Set(now).size, 1, `all services serve the same certificate: ${now}`);
  assert.notEqual(now[0], old[0], "the renewed certificate is served");
});
