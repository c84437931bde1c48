// A client that keeps failing to log in is banned from the whole host for a while:
// wrong passwords over IMAPS, SMTP AUTH on 587 and XMPP, from one address
// (10.77.0.98, put on the lab bridge for this test), put that address into the
// host's nftables set; from then on it reaches none of 587, 993 and 5222, while
// another client (10.77.0.99) and the admin machine (10.77.0.1, admin.sshFrom)
// still do. The ban ends by itself after banning.for. The admin machine is never
// banned however often it fails. The pod is applied with small limits
// (5 failures, a 40 s ban) and put back as it was afterwards.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { LAB } from "../../lib/lab/config";
import { onHost, REPO, run } from "./helpers";
import { apply, ensurePods, type Pods } from "./pods";

const GUESSER = "10.77.0.98";
const BYSTANDER = "10.77.0.99";
const ADMIN = LAB.gateway; // the outer machine: admin.sshFrom of the lab stacks
const BAN_SECONDS = 40;
const FAILURES = 5;
const PORTS = [587, 993, 5222];

let pods: Pods;
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const small = path.join(mkdtempSync(path.join(tmpdir(), "podkit-ban-")), "lab-a.yaml");

before(async () => {
  pods = await ensurePods(["a"]);
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  assert.doesNotMatch(original, /^banning:/m, "lab-a.yaml uses the default banning");
  writeFileSync(small, `${original}\nbanning: { failures: ${FAILURES}, within: 10m, for: ${BAN_SECONDS}s }\n`);
  const applied = await apply(small, "--secrets", SECRETS);
  assert.equal(applied.report.exitCode, undefined, applied.stderr);
  for (const a of [GUESSER, BYSTANDER]) {
    const r = await run("ip", ["addr", "replace", `${a}/32`, "dev", LAB.bridge]);
    assert.equal(r.code, 0, r.stderr);
  }
});

after(async () => {
  for (const a of [GUESSER, BYSTANDER]) await run("ip", ["addr", "del", `${a}/32`, "dev", LAB.bridge]);
  await apply("stacks/lab-a.yaml");
});

/** Whether a TCP connection from `from` to the pod's `port` opens within 3 s (a banned client's SYN is dropped: no answer). */
function reaches(from: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: pods.a.ip, port, localAddress: from, timeout: 3000 });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("timeout", () => { s.destroy(); resolve(false); });
    s.once("error", () => resolve(false));
  });
}

async function reachable(from: string): Promise<Record<number, boolean>> {
  return Object.fromEntries(await Promise.all(PORTS.map(async (p) => [p, await reaches(from, p)])));
}

/** Reads from a socket until `done` matches what came so far (or 15 s pass). */
function until(sock: net.Socket, done: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const timer = setTimeout(() => { sock.off("data", on); reject(new Error(`no ${done} within 15 s; got: ${got}`)); }, 15_000);
    const on = (d: Buffer) => {
      got += d.toString();
      if (done.test(got)) { clearTimeout(timer); sock.off("data", on); resolve(got); }
    };
    sock.on("data", on);
  });
}

/** One wrong IMAP login over IMAPS, as a mail client would send it; returns Dovecot's answer. */
async function wrongImap(from: string): Promise<string> {
  const tcp = net.connect({ host: pods.a.ip, port: 993, localAddress: from });
  const s = tls.connect({ socket: tcp, servername: pods.a.mx, ca: pods.ca });
  try {
    await until(s, /^\* OK/m);
    s.write('a LOGIN alice@a.test "not her password"\r\n');
    const answer = await until(s, /^a (NO|BAD)/m);
    s.write("b LOGOUT\r\n");
    await until(s, /^b OK/m).catch(() => undefined);
    return answer;
  } finally {
    s.destroy();
    tcp.destroy();
  }
}

/** One wrong SMTP AUTH on 587 (STARTTLS), with nodemailer as a mail client; returns its error. */
async function wrongSmtp(from: string): Promise<Error> {
  const transport = nodemailer.createTransport({
    host: pods.a.ip, port: 587, requireTLS: true, localAddress: from,
    auth: { user: "alice@a.test", pass: "not her password" },
    tls: { servername: pods.a.mx, ca: pods.ca, minVersion: "TLSv1.2" },
  });
  try {
    await transport.verify();
    throw new Error("a wrong password was accepted on 587");
  } catch (err) {
    return err as Error;
  } finally {
    transport.close();
  }
}

/** One wrong XMPP login (STARTTLS, then SASL PLAIN), spoken raw so it can come from `from`. */
async function wrongXmpp(from: string): Promise<string> {
  const open = `<?xml version='1.0'?><stream:stream to='${pods.a.domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>`;
  const plain = net.connect({ host: pods.a.ip, port: 5222, localAddress: from });
  try {
    plain.write(open);
    await until(plain, /<\/stream:features>/);
    plain.write("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    await until(plain, /<proceed/);
    const s = tls.connect({ socket: plain, servername: pods.a.domain, ca: pods.ca });
    await new Promise<void>((resolve, reject) => { s.once("secureConnect", () => resolve()); s.once("error", reject); });
    s.write(open);
    await until(s, /<\/stream:features>/);
    s.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${Buffer.from("\0alice\0not her password").toString("base64")}</auth>`);
    const answer = await until(s, /<failure[\s\S]*<\/failure>/);
    s.end("</stream:stream>");
    return answer;
  } finally {
    plain.destroy();
  }
}

async function bannedNow(): Promise<string> {
  const r = await onHost(pods.lab, "a", "nft list set inet filter banned_ipv4");
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test("wrong passwords over IMAP, SMTP AUTH and XMPP ban the client from every port for banning.for; others and the admins still get in", async (t) => {
  assert.deepEqual(await reachable(GUESSER), { 587: true, 993: true, 5222: true }, "the guesser reaches the pod before guessing");

  // Five failures from one address, over three services.
  assert.match(await wrongImap(GUESSER), /^a NO/m);
  assert.match(await wrongImap(GUESSER), /^a NO/m);
  assert.match((await wrongSmtp(GUESSER)).message, /535|auth/i);
  assert.match(await wrongXmpp(GUESSER), /not-authorized/);
  assert.match(await wrongXmpp(GUESSER), /not-authorized/);
  const lastFailure = Date.now();

  // The ban, as `nft list set` shows it: the address with its timeout and what is left of it.
  let set = "";
  for (let i = 0; i < 50 && !set.includes(GUESSER); i++) {
    set = await bannedNow();
    if (!set.includes(GUESSER)) await new Promise((r) => setTimeout(r, 200));
  }
  const bannedAfter = Date.now() - lastFailure;
  t.diagnostic(`banned ${bannedAfter} ms after the last failure's answer:\n${set}`);
  assert.match(set, new RegExp(`elements = \\{ ${GUESSER.replace(/\./g, "\\.")} timeout ${BAN_SECONDS}s expires \\d+`), set);
  const log = await onHost(pods.lab, "a", "journalctl -u podkit-ban.service -n 20 --no-pager -o cat");
  assert.match(log.stdout, new RegExp(`banned ${GUESSER.replace(/\./g, "\\.")} for ${BAN_SECONDS}s: ${FAILURES} failures within 600s`), log.stdout);

  // Banned everywhere; the bystander and the admin machine are not.
  assert.deepEqual(await reachable(GUESSER), { 587: false, 993: false, 5222: false }, "the guesser reaches nothing");
  assert.deepEqual(await reachable(BYSTANDER), { 587: true, 993: true, 5222: true }, "another client still gets in");
  assert.deepEqual(await reachable(ADMIN), { 587: true, 993: true, 5222: true }, "the admin machine still gets in");

  // The ban ends by itself.
  const deadline = Date.now() + (BAN_SECONDS + 15) * 1000;
  while ((await bannedNow()).includes(GUESSER) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1000));
  assert.doesNotMatch(await bannedNow(), new RegExp(GUESSER.replace(/\./g, "\\.")), "the ban expired");
  assert.deepEqual(await reachable(GUESSER), { 587: true, 993: true, 5222: true }, "the guesser gets in again after the ban");
});

test("the admin machine (admin.sshFrom) is never banned, however often it fails", async () => {
  for (let i = 0; i < FAILURES + 2; i++) assert.match(await wrongImap(ADMIN), /^a NO/m);
  await new Promise((r) => setTimeout(r, 2000));
  assert.doesNotMatch(await bannedNow(), new RegExp(ADMIN.replace(/\./g, "\\.")));
  assert.deepEqual(await reachable(ADMIN), { 587: true, 993: true, 5222: true });
  // And podkit still logs in over SSH.
  assert.equal((await onHost(pods.lab, "a", "true")).code, 0);
});

test("the host's own resolver answers, resolv.conf names it as a regular file, and lab and outside names both resolve", async (t) => {
  const r = await onHost(pods.lab, "a", [
    "cat /etc/resolv.conf", "test ! -L /etc/resolv.conf && echo regular",
    "systemctl is-active unbound.service",
    "getent hosts mx.b.test", "getent hosts deb.debian.org >/dev/null && echo debian-resolves",
    "sed -n 's/^VmRSS: *\\([0-9]*\\) kB/\\1/p' /proc/$(systemctl show -p MainPID --value unbound.service)/status",
  ].join("; echo ---; "));
  assert.equal(r.code, 0, r.stderr);
  const [conf, regular, active, b, debian, rss] = r.stdout.split("---").map((s) => s.trim());
  assert.match(conf, /^nameserver 127\.0\.0\.1$/m);
  assert.match(conf, /^options trust-ad edns0$/m);
  assert.equal(regular, "regular");
  assert.equal(active, "active");
  assert.match(b, new RegExp(`^${pods.b.ip.replace(/\./g, "\\.")}\\s`), "lab zones through the lab resolver");
  assert.equal(debian, "debian-resolves", "names outside the lab still resolve (apt works)");
  t.diagnostic(`unbound on lab host a: ${rss} kB RSS`);
  assert.ok(Number(rss) > 0, rss);
});
