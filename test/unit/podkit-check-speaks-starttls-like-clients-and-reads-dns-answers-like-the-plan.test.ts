// The probes `podkit check` makes, against local stand-ins: an SMTP server that
// greets in two parts like postscreen, then STARTTLS; an XMPP server's stream
// features and STARTTLS; plain TLS. The certificate is a throwaway one made
// with openssl, trusted as the lab's CA is. And DNS answers, as node's resolver
// gives them, become exactly the plan's presentation.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as tls from "node:tls";
import type { Resolver } from "node:dns/promises";
import { lookup } from "../../lib/check/dns-lookup";
import { nameError, probe } from "../../lib/check/tls-probe";

let key: string;
let cert: string;
const servers: net.Server[] = [];

before(() => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-probe-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "40",
    "-subj", "/CN=mx.a.test", "-addext", "subjectAltName=DNS:mx.a.test,DNS:a.test", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
  key = readFileSync(join(dir, "key.pem"), "utf8");
  cert = readFileSync(join(dir, "cert.pem"), "utf8");
});
after(() => servers.forEach((s) => s.close()));

/** A server on a free loopback port running `talk` on each connection. */
async function serve(talk: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer(talk);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as net.AddressInfo).port;
}

/** Reads lines from a plain socket until `done` says stop. */
function onLines(s: net.Socket, each: (line: string) => boolean | void) {
  let buf = "";
  const handler = (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, "");
      buf = buf.slice(i + 1);
      if (each(line) === true) { s.off("data", handler); return; }
    }
  };
  s.on("data", handler);
}

const upgrade = (s: net.Socket) => new tls.TLSSocket(s, { isServer: true, key, cert });

test("SMTP: the greeting read to its last line (postscreen sends it in two parts), EHLO, STARTTLS, and the certificate judged", async () => {
  const port = await serve((s) => {
    s.write("220-mx.a.test ESMTP\r\n");
    setTimeout(() => s.write("220 mx.a.test ESMTP\r\n"), 300);
    onLines(s, (line) => {
      if (/^EHLO /.test(line)) s.write("250-mx.a.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
      if (line === "STARTTLS") { s.write("220 2.0.0 Ready to start TLS\r\n"); upgrade(s); return true; }
    });
  });
  const r = await probe({ address: "127.0.0.1", port, mode: "smtp", servername: "mx.a.test", ca: cert, timeoutMs: 5000 });
  assert.equal(r.banner, "220 mx.a.test ESMTP");
  assert.equal(r.cert.trusted, true, r.cert.chainError);
  assert.equal(nameError(r.cert.raw, "mx.a.test"), undefined);
  assert.match(nameError(r.cert.raw, "mta-sts.a.test") ?? "", /mta-sts\.a\.test/);
  const days = (r.cert.validTo.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 38 && days < 41, String(days));
});

test("SMTP without STARTTLS on offer is a failure that says so", async () => {
  const port = await serve((s) => {
    s.write("220 mx.a.test ESMTP\r\n");
    onLines(s, (line) => { if (/^EHLO /.test(line)) s.write("250-mx.a.test\r\n250 PIPELINING\r\n"); });
  });
  await assert.rejects(probe({ address: "127.0.0.1", port, mode: "smtp", servername: "mx.a.test", timeoutMs: 3000 }), /no STARTTLS offered/);
});

test("XMPP: a stream to the domain, STARTTLS from the features, a certificate valid for the domain", async () => {
  let opened = "";
  const port = await serve((s) => {
    let buf = "";
    const handler = (d: Buffer) => {
      buf += d.toString();
      if (!opened && buf.includes("<stream:stream")) {
        opened = buf;
        s.write("<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' id='x' from='a.test' version='1.0'>");
        s.write("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>");
      }
      if (buf.includes("<starttls")) { s.off("data", handler); s.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"); upgrade(s); }
    };
    s.on("data", handler);
  });
  const r = await probe({ address: "127.0.0.1", port, mode: "xmpp-server", servername: "a.test", ca: cert, timeoutMs: 5000 });
  assert.match(opened, /to='a\.test' xmlns='jabber:server'/);
  assert.equal(r.cert.trusted, true);
  assert.equal(nameError(r.cert.raw, "a.test"), undefined);
});

test("plain TLS: a certificate from a CA not trusted is reported as not verifying, not as an error", async () => {
  const server = tls.createServer({ key, cert }, (s) => s.end());
  servers.push(server as unknown as net.Server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  const r = await probe({ address: "127.0.0.1", port, mode: "tls", servername: "mx.a.test", timeoutMs: 5000 });
  assert.equal(r.cert.trusted, false);
  assert.match(r.cert.chainError ?? "", /SELF_SIGNED|self.signed/i);
});

test("a port nobody listens on, or a server that never greets, fails within the timeout", async () => {
  const closed = await serve(() => undefined);
  await new Promise((r) => servers.pop()!.close(r));
  await assert.rejects(probe({ address: "127.0.0.1", port: closed, mode: "tls", servername: "x", timeoutMs: 2000 }), /ECONNREFUSED/);
  const silent = await serve(() => undefined);
  const t = Date.now();
  await assert.rejects(probe({ address: "127.0.0.1", port: silent, mode: "smtp", servername: "x", timeoutMs: 800 }), /no greeting in time/);
  assert.ok(Date.now() - t < 2000);
});

test("DNS answers as node's resolver gives them become the plan's presentation, and no record is an empty answer", async () => {
  const nodata = Object.assign(new Error("queryTxt ENODATA"), { code: "ENODATA" });
  const fake = {
    resolve4: async () => ["10.77.0.11"],
    resolve6: async () => ["2A01:4F8::1"],
    resolveMx: async () => [{ priority: 10, exchange: "MX.a.test" }],
    resolveTxt: async (name: string) => { if (name === "none.a.test") throw nodata; return [["v=DKIM1; k=rsa; p=AAA", "BBB"]]; },
    resolveSrv: async () => [{ priority: 0, weight: 1, port: 465, name: "mx.a.test" }, { priority: 0, weight: 0, port: 0, name: "" }],
    resolveCaa: async () => [{ critical: 0, issue: "letsencrypt.org" }, { critical: 0, iodef: "mailto:postmaster@a.test" }],
    resolveNs: async () => ["ns.lab.test"],
  } as unknown as Resolver;
  assert.deepEqual(await lookup(fake, "a.test", "A"), ["10.77.0.11"]);
  assert.deepEqual(await lookup(fake, "a.test", "AAAA"), ["2a01:4f8::1"]);
  assert.deepEqual(await lookup(fake, "a.test", "MX"), ["10 mx.a.test."]);
  assert.deepEqual(await lookup(fake, "pod._domainkey.a.test", "TXT"), ["v=DKIM1; k=rsa; p=AAABBB"]);
  assert.deepEqual(await lookup(fake, "none.a.test", "TXT"), []);
  assert.deepEqual(await lookup(fake, "_imaps._tcp.a.test", "SRV"), ["0 1 465 mx.a.test.", "0 0 0 ."]);
  assert.deepEqual(await lookup(fake, "a.test", "CAA"), ["0 issue letsencrypt.org", "0 iodef mailto:postmaster@a.test"]);
  assert.deepEqual(await lookup(fake, "a.test", "NS"), ["ns.lab.test."]);
});
