// A host that guesses passwords is shut out: a few failed logins on SMTP AUTH,
// IMAP or XMPP from one address, and that address reaches none of the pod's
// mail and chat ports, while every other host still does; the ban ends on its
// own; the admin machine (admin.sshFrom) is never banned, however often it fails.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import * as tls from "node:tls";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { onHost, REPO } from "./helpers";
import { apply, ensurePods, type Pods } from "./pods";
import { withBridgeAddress } from "./smtp";

const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const FAILURES = 3;
const BAN_S = 20;
const PORTS = [587, 993, 5222];
let pods: Pods;
let strict: string;

before(async () => {
  pods = await ensurePods(["a"]);
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  assert.match(original, /sshFrom: \[10\.77\.0\.1\/32\]/, "the lab stack names the outer machine as the admin machine");
  // A short ban, so the test sees it end.
  strict = path.join(mkdtempSync(path.join(tmpdir(), "podkit-ban-")), "lab-a.yaml");
  writeFileSync(strict, `${original}\nbanning: { failures: ${FAILURES}, within: 10m, for: ${BAN_S}s }\n`);
  const r = await apply(strict, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, undefined, r.stderr);
});

after(async () => {
  await apply("stacks/lab-a.yaml");
});

/** True when a TCP connection from `from` to the pod's `port` opens within 3 s. */
function reaches(port: number, from?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: pods.a.ip, port, ...(from ? { localAddress: from } : {}), timeout: 3000 });
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("timeout", () => { s.destroy(); resolve(false); });
    s.once("error", () => { s.destroy(); resolve(false); });
  });
}

async function reachable(from?: string): Promise<Record<number, boolean>> {
  return Object.fromEntries(await Promise.all(PORTS.map(async (p) => [p, await reaches(p, from)])));
}

async function waitUntil(what: string, pred: () => Promise<boolean>, ms: number): Promise<number> {
  const started = Date.now();
  while (!(await pred())) {
    if (Date.now() - started > ms) throw new Error(`${what}: not within ${ms / 1000}s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return (Date.now() - started) / 1000;
}

async function smtpAuthFails(from?: string): Promise<void> {
  const transport = nodemailer.createTransport({
    host: pods.a.ip, port: 587, requireTLS: true, auth: { user: "alice@a.test", pass: "a wrong guess" },
    tls: { servername: pods.a.mx, ca: pods.ca }, ...(from ? { localAddress: from } : {}),
  } as nodemailer.TransportOptions);
  try {
    await assert.rejects(transport.verify(), (e: any) => e.responseCode === 535);
  } finally {
    transport.close();
  }
}

/** A TLS connection to the pod from `from` (certificate verified), and a way to wait for what the server says. */
async function tlsFrom(port: number, servername: string, from: string) {
  const s = tls.connect({ socket: net.connect({ host: pods.a.ip, port, localAddress: from }), servername, ca: pods.ca });
  await new Promise((r, j) => s.once("secureConnect", r).once("error", j));
  let seen = "";
  s.on("data", (d: Buffer) => { seen += d.toString(); });
  const until = async (re: RegExp) => {
    for (const started = Date.now(); !re.test(seen); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() - started > 20_000) throw new Error(`${port}: no ${re} in ${JSON.stringify(seen)}`);
    }
  };
  return { s, until };
}

/** One IMAP LOGIN with a wrong password over IMAPS, from `from`. */
async function imapLoginFails(from: string): Promise<void> {
  const { s, until } = await tlsFrom(993, pods.a.mx, from);
  try {
    await until(/^\* OK/m);
    s.write("a1 LOGIN alice@a.test \"a wrong guess\"\r\n");
    await until(/^a1 NO/m);
    s.write("a2 LOGOUT\r\n");
  } finally {
    s.destroy();
  }
}

/** One XMPP SASL PLAIN login with a wrong password over direct TLS (5223), from `from`. */
async function xmppLoginFails(from: string): Promise<void> {
  const { s, until } = await tlsFrom(5223, "a.test", from);
  try {
    s.write("<?xml version='1.0'?><stream:stream to='a.test' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
    await until(/<\/stream:features>/);
    const plain = Buffer.from("\0alice\0a wrong guess").toString("base64");
    s.write(`<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${plain}</auth>`);
    await until(/<failure/);
    s.write("</stream:stream>");
  } finally {
    s.destroy();
  }
}

/** The pod's nftables sets holding `address` (family, table, set). */
async function banSets(address: string): Promise<{ family: string; table: string; name: string }[]> {
  const r = await onHost(pods.lab, "a", "nft -j list sets");
  const sets = (JSON.parse(r.stdout).nftables as any[]).flatMap((x) => (x.set ? [x.set] : []));
  return sets.filter((set) => JSON.stringify(set.elem ?? []).includes(`"${address}"`)).map(({ family, table, name }) => ({ family, table, name }));
}

async function banned(address: string): Promise<boolean> {
  return (await banSets(address)).length > 0;
}

for (const [service, fail, address, waitForExpiry] of [
  ["SMTP AUTH", smtpAuthFails, "10.77.0.93", true],
  ["IMAP", imapLoginFails, "10.77.0.92", false],
  ["XMPP", xmppLoginFails, "10.77.0.91", false],
] as const) {
  test(`${FAILURES} wrong passwords on ${service} from one host: it reaches none of ${PORTS.join(", ")}, others still do${waitForExpiry ? ", and the ban ends" : ""}`, async (t) => {
    await withBridgeAddress(address, async () => {
      assert.deepEqual(await reachable(address), { 587: true, 993: true, 5222: true }, "reachable before");
      for (let i = 0; i < FAILURES; i++) await fail(address);
      const took = await waitUntil(`${address} banned`, async () => !(await reaches(587, address)), 30_000);
      t.diagnostic(`${service}: banned ${took.toFixed(1)} s after the last failure`);
      assert.deepEqual(await reachable(address), { 587: false, 993: false, 5222: false }, "the guesser reaches no port");
      assert.deepEqual(await reachable(), { 587: true, 993: true, 5222: true }, "the admin machine still reaches every port");
      assert.ok(await banned(address), "the address is in the pod's ban set");
      if (waitForExpiry) {
        const ended = await waitUntil(`${address} unbanned`, () => reaches(587, address), (BAN_S + 30) * 1000);
        t.diagnostic(`${service}: ban ended ${ended.toFixed(1)} s later`);
        assert.deepEqual(await reachable(address), { 587: true, 993: true, 5222: true }, "reachable again");
      } else {
        // Seen end once (SMTP AUTH); here the admin lifts it by hand, as README says.
        for (const set of await banSets(address)) await onHost(pods.lab, "a", `nft delete element ${set.family} ${set.table} ${set.name} '{ ${address} }'`);
        assert.ok(await reaches(587, address), "reachable once the admin lifted the ban");
      }
    });
  });
}

test("the admin machine fails to log in more often than the limit and is never banned", async () => {
  for (let i = 0; i < FAILURES + 2; i++) await smtpAuthFails();
  await new Promise((r) => setTimeout(r, 5000));
  assert.deepEqual(await reachable(), { 587: true, 993: true, 5222: true });
  assert.ok(!(await banned(pods.lab.gateway)), "the gateway is in no ban set");
});
