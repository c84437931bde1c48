// Client-level health (lib/converge/probes.ts): a reloaded service is used the
// way its clients use it, only when it was reloaded, and a failure names the
// service, the check and what the client saw. The probe functions run here
// against small fake servers on loopback, as they run on a host.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { test } from "node:test";
import { join } from "node:path";
import { roleActions } from "../../lib/converge/actions";
import { convergeHost, ConvergeError } from "../../lib/converge/apply";
import { sha256 } from "../../lib/converge/changes";
import { dnsAnswer, httpAnswer, smtpStarttls, stunBinding, xmppStarttls } from "../../lib/converge/probes";
import { serviceScript } from "../../lib/converge/scripts";
import type { Session } from "../../lib/converge/ssh";
import type { Facts, RoleState } from "../../lib/converge/types";
import { REPO_ROOT } from "../../lib/paths";

const PROBES_SH = join(REPO_ROOT, "lib", "converge", "probes.sh");

const role: RoleState = {
  role: "demo",
  packages: [],
  files: [{ path: "/etc/postfix/main.cf", content: "new\n" }, { path: "/etc/dovecot/dovecot.conf", content: "same\n" }],
  services: [
    { unit: "postfix.service", watch: ["/etc/postfix/"], ports: [587], probes: [smtpStarttls(587, "mx.example.org")] },
    { unit: "dovecot.service", watch: ["/etc/dovecot/"], ports: [993], probes: [smtpStarttls(993, "mx.example.org")] },
  ],
};

function facts(mainCf: string): Facts {
  const file = (content: string) => ({ sha256: sha256(content), mode: 0o644, owner: "root", group: "root" });
  return {
    files: { "/etc/postfix/main.cf": file(mainCf), "/etc/dovecot/dovecot.conf": file("same\n") },
    dirs: {}, packages: {}, users: [], dueHandlers: [],
    units: { "postfix.service": { active: "active", enabled: "enabled" }, "dovecot.service": { active: "active", enabled: "enabled" } },
  };
}

/** Runs one probe function of probes.sh, as the service script does. */
function probe(call: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", `source ${PROBES_SH}; ${call}`], { timeout: 30_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, out: stdout.trim() });
    });
  });
}

test("only the unit a change reloads is probed, and a no-op apply probes nothing", () => {
  const changed = roleActions(role, facts("old\n"));
  assert.deepEqual(changed.health.map((h) => h.unit), ["postfix.service"]);
  assert.deepEqual(changed.health[0].probes?.map((p) => p.name), ["STARTTLS on 587"]);
  const same = roleActions(role, facts("new\n"));
  assert.deepEqual(same.health, []);
  assert.doesNotMatch(serviceScript(same.services, same.health), /probe_|openssl/);
});

test("the service script verifies STARTTLS with the host's trust and name, and names service, check and what the client saw", () => {
  const a = roleActions(role, facts("old\n"));
  const script = serviceScript(a.services, a.health);
  assert.equal(spawnSync("bash", ["-n"], { input: script }).status, 0, "the script is valid bash");
  assert.match(script, /-verify_hostname "\$name" -verify_return_error -CAfile \/etc\/ssl\/certs\/ca-certificates\.crt/);
  assert.match(script, /probe_retry probe_tls 587 'mx\.example\.org' 'smtp'/);
  assert.match(script, /echo 'postfix: STARTTLS on 587 failed: '"\$out"; exit 4/);
  // After a reload (a signal) the old processes get a moment before the probe.
  assert.ok(script.indexOf("sleep 1\n") > script.indexOf("systemctl reload-or-restart 'postfix.service'"));
});

test("an XMPP probe asks for the XMPP domain in the stream and the certificate", () => {
  assert.equal(xmppStarttls(5222, "example.org").run, "probe_tls 5222 'example.org' 'xmpp' '</stream:stream>' ''");
});

test("a server that refuses STARTTLS is reported with its own words", async (t) => {
  // Postfix with a certificate file that does not exist: it offers STARTTLS, then refuses it.
  const server = net.createServer((c) => {
    c.write("220 mx.example.org ESMTP\r\n");
    c.on("data", (d) => {
      const line = d.toString();
      if (/^EHLO/i.test(line)) c.write("250-mx.example.org\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
      else if (/^STARTTLS/i.test(line)) c.write("454 4.7.0 TLS not available due to local problem\r\n");
      else if (/^QUIT/i.test(line)) c.end("221 2.0.0 Bye\r\n");
    });
    c.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const r = await probe(smtpStarttls(port, "mx.example.org").run);
  assert.notEqual(r.code, 0);
  assert.equal(r.out, "454 4.7.0 TLS not available due to local problem");
});

test("an XMPP server that offers no STARTTLS is reported with the stream features it sent instead", async (t) => {
  // Prosody whose modules_enabled lost "tls": it answers the stream, but offers no STARTTLS.
  const server = net.createServer((c) => {
    c.once("data", () => c.end("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='x' version='1.0'>"
      + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features></stream:stream>"));
    c.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const r = await probe(xmppStarttls(port, "example.org").run);
  assert.notEqual(r.code, 0);
  assert.equal(r.out, "no STARTTLS offered for example.org: <stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
});

test("nothing listening is a refused connection, not a hang", async () => {
  const free = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
  const r = await probe(smtpStarttls(free, "mx.example.org").run);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /refused|connect/i);
});

test("a STUN binding request gets its success response, and silence is reported", async (t) => {
  const stun = dgram.createSocket("udp4");
  stun.on("message", (msg, from) => {
    // A binding success response (0x0101) with the request's magic cookie and transaction id.
    const res = Buffer.alloc(20);
    res.writeUInt16BE(0x0101, 0);
    msg.copy(res, 4, 4, 20);
    stun.send(res, from.port, from.address);
  });
  await new Promise<void>((r) => stun.bind(0, "127.0.0.1", r));
  t.after(() => stun.close());
  const ok = await probe(stunBinding(stun.address().port).run);
  assert.equal(ok.code, 0, ok.out);
  const mute = dgram.createSocket("udp4");
  await new Promise<void>((r) => mute.bind(0, "127.0.0.1", r));
  t.after(() => mute.close());
  const silent = await probe(stunBinding(mute.address().port).run);
  assert.notEqual(silent.code, 0);
  assert.match(silent.out, /no binding success response/);
});

test("an HTTP endpoint must answer what its clients expect (rspamd's /ping: pong)", async (t) => {
  let answer = "pong";
  const server = net.createServer((c) => {
    c.on("data", () => c.end(`HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n${answer}\r\n`));
    c.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  assert.equal((await probe(httpAnswer(port, "/ping", "pong").run)).code, 0);
  answer = "busy";
  const r = await probe(httpAnswer(port, "/ping", "pong").run);
  assert.notEqual(r.code, 0);
  assert.equal(r.out, "HTTP/1.0 200 OK (expected pong)");
});

test("a resolver must answer a query for localhost. NOERROR over TCP", async (t) => {
  let rcode = 0;
  let asked = "";
  const server = net.createServer((c) => {
    c.once("data", (q) => {
      // Length, id, flags, counts (12 bytes), then the name as labels.
      asked = q.subarray(15, 15 + q[14]).toString();
      const res = Buffer.from(q);
      res.writeUInt16BE(0x8180 | rcode, 4);
      c.end(res);
    });
    c.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  t.after(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const ok = await probe(dnsAnswer(port).run);
  assert.equal(ok.code, 0, ok.out);
  assert.equal(asked, "localhost");
  rcode = 2;
  const servfail = await probe(dnsAnswer(port).run);
  assert.notEqual(servfail.code, 0);
  assert.match(servfail.out, /no NOERROR answer/);
});

test("a probe that fails after a reload rolls the role back, and the error names service, check and what the client saw", async () => {
  const scripts: string[] = [];
  const run = async (script: string) => {
    scripts.push(script);
    if (script.includes("sha256sum")) {
      return { code: 0, stdout: `S 644 root root /etc/postfix/main.cf\nH ${sha256("old\n")}  /etc/postfix/main.cf\nS 644 root root /etc/dovecot/dovecot.conf\nH ${sha256("same\n")}  /etc/dovecot/dovecot.conf\nUId postfix.service\nUActiveState active\nUUnitFileState enabled\nUId dovecot.service\nUActiveState active\nUUnitFileState enabled\n`, stderr: "" };
    }
    // What the service script prints when Postfix, reloaded on a main.cf naming a missing certificate, refuses STARTTLS.
    if (script.includes("probe_retry probe_tls 587")) return { code: 4, stdout: "postfix: STARTTLS on 587 failed: 454 4.7.0 TLS not available due to local problem\n", stderr: "" };
    return { code: 0, stdout: "", stderr: "" };
  };
  const session = {
    target: { name: "mx" },
    run,
    async must(script: string) {
      const r = await run(script);
      if (r.code !== 0) throw new Error(r.stdout);
      return r.stdout;
    },
    close() {},
  } as unknown as Session;
  await assert.rejects(convergeHost(session, [role]), (err: Error) => {
    assert.ok(err instanceof ConvergeError);
    assert.equal(err.message, "mx/demo: rolled back /etc/postfix/main.cf: postfix: STARTTLS on 587 failed: 454 4.7.0 TLS not available due to local problem");
    return true;
  });
  const probed = scripts.findIndex((s) => s.includes("probe_retry probe_tls 587"));
  const rollback = scripts.findIndex((s, i) => i > probed && s.includes('(cd "$B" && find .'));
  assert.ok(rollback > probed, "the old main.cf was put back");
  const restart = scripts.findIndex((s, i) => i > rollback && s.includes("systemctl restart 'postfix.service'"));
  assert.ok(restart > rollback, "and Postfix restarted on it");
  assert.doesNotMatch(scripts[restart], /probe_/, "the restart on the old files is not probed again");
});
