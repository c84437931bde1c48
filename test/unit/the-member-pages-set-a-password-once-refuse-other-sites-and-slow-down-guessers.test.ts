// podkit-account-web (role web), run here as its unit starts it, with the pages
// and script the role renders for the hackspace stack, against a fake
// podkit-member: a socket speaking the daemon's protocol (one JSON request,
// one JSON line back) from an in-memory table of invites and passwords. A
// member's walk: the invite page, a password set once, the link refused
// after; POSTs from another site refused; a guesser slowed down; nothing
// secret in the service's log.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { newToken } from "../../lib/members/invite";
import { loadStackFile } from "../../lib/stack/load";
import { ACCOUNT_WEB } from "../../roles/web/account";
import { web } from "../../roles/web/role";
import { profileOf } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const ORIGIN = "https://box.hackspace.example";
const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");

/** The fake root daemon: invites by token hash, passwords in the clear (it is a test), every request kept. */
class FakeMember {
  invites = new Map<string, { address: string; kind: "new" | "reset"; expires: number }>();
  passwords = new Map<string, string>();
  requests: Record<string, string>[] = [];
  server!: Server;
  constructor(readonly path: string) {}
  start(): Promise<void> {
    this.server = createServer((c) => {
      let data = "";
      c.on("data", (d) => {
        data += d;
        if (!data.includes("\n")) return;
        const req = JSON.parse(data.slice(0, data.indexOf("\n")));
        this.requests.push(req);
        c.end(`${JSON.stringify(this.answer(req))}\n`);
      });
    });
    return new Promise((r) => this.server.listen(this.path, r));
  }
  answer(req: Record<string, string>): object {
    const invite = this.invites.get(sha256(req.token ?? ""));
    if (req.op === "invite") return invite ? { ok: true, ...invite } : { ok: false, error: "unknown or used invite" };
    if (req.op === "redeem") {
      if (!invite) return { ok: false, error: "unknown or used invite" };
      this.invites.delete(sha256(req.token));
      this.passwords.set(invite.address, req.password);
      return { ok: true, address: invite.address };
    }
    if (req.op === "change") {
      if (this.passwords.get(req.address) !== req.old) return { ok: false, error: "the address or the current password is wrong" };
      this.passwords.set(req.address, req.new);
      return { ok: true };
    }
    return { ok: false, error: "unknown op" };
  }
  invite(address: string, kind: "new" | "reset" = "new"): string {
    const token = newToken();
    this.invites.set(sha256(token), { address, kind, expires: Math.floor(Date.now() / 1000) + 3600 });
    return token;
  }
}

let dir: string;
let member: FakeMember;
let service: ChildProcess;
let base: string;
let log = "";

/** A free loopback port (the service's own is fixed in its unit). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "podkit-account-web-"));
  const loaded = loadStackFile(join(ROOT, "stacks", "hackspace.yaml"));
  assert.ok(loaded.ok);
  const state = web.state(roleContext(loaded.stack, "box", (n) => `value of ${n}`, profileOf(loaded.stack, "box")));
  const pages = join(dir, "pages");
  mkdirSync(pages);
  const script = join(dir, "podkit-account-web");
  for (const f of state.files) {
    if (f.path.startsWith(`${ACCOUNT_WEB.templates}/`)) writeFileSync(join(pages, f.path.slice(ACCOUNT_WEB.templates.length + 1)), f.content);
    if (f.path === ACCOUNT_WEB.script) writeFileSync(script, f.content, { mode: 0o755 });
  }
  // The unit's own command line, with this test's socket, pages and port.
  const unit = state.files.find((f) => f.path === "/etc/systemd/system/podkit-account-web.service")!.content;
  const exec = /^ExecStart=(\S+) (.*)$/m.exec(unit)!;
  assert.equal(exec[1], "/usr/bin/python3");
  const port = await freePort();
  const args = exec[2].split(" ")
    .map((a) => (a === ACCOUNT_WEB.script ? script : a === ACCOUNT_WEB.memberSocket ? join(dir, "member.sock") : a === ACCOUNT_WEB.templates ? pages : a === String(ACCOUNT_WEB.port) ? String(port) : a));
  assert.ok(args.includes(`--origin`) && args.includes(ORIGIN), exec[2]);
  member = new FakeMember(join(dir, "member.sock"));
  await member.start();
  service = spawn("python3", args, { stdio: ["ignore", "pipe", "pipe"] });
  service.stdout!.on("data", (d) => (log += d));
  service.stderr!.on("data", (d) => (log += d));
  base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${base}/account/password`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`podkit-account-web did not start: ${log}`);
});

after(() => {
  service?.kill();
  member?.server.close();
});

/** A POST as a browser on the pod's page sends it; each test its own client address (nginx's X-Real-IP). */
function post(path: string, fields: Record<string, string>, opts: { origin?: string | null; ip: string }) {
  const headers: Record<string, string> = { "Content-Type": "application/x-www-form-urlencoded", "X-Real-IP": opts.ip };
  if (opts.origin !== null) headers.Origin = opts.origin ?? ORIGIN;
  return fetch(`${base}${path}`, { method: "POST", headers, body: new URLSearchParams(fields).toString(), redirect: "manual" });
}

test("an invite shows the address, the promise, what losing the password means, and a form; the page loads nothing from anywhere", async () => {
  const token = member.invite("carol@hackspace.example");
  const r = await fetch(`${base}/account/invite/${token}`);
  assert.equal(r.status, 200);
  const page = await r.text();
  assert.match(page, /<strong>carol@hackspace\.example<\/strong>/);
  assert.match(page, /encrypted with a key that only your password unlocks/);
  assert.match(page, /kept 7 days/, "the stack's privacy.logRetentionDays");
  assert.match(page, /unless your chat app encrypts them end to end \(OMEMO\)/);
  assert.match(page, /<a href="\/account\/privacy">what the admins can and cannot see<\/a>/);
  assert.match(page, /mail stored before it can then no longer be read by anyone/);
  assert.match(page, /<form method="post">[\s\S]*name="password"[\s\S]*name="password2"/);
  assert.doesNotMatch(page, /This is a password reset/);
  assert.doesNotMatch(page, /<script|src=|https?:\/\//i, "no script, nothing from elsewhere");
  assert.match(r.headers.get("content-security-policy")!, /default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'/);
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(r.headers.get("referrer-policy"), "same-origin");
  const privacy = await fetch(`${base}/account/privacy`);
  assert.equal(privacy.status, 200);
  assert.match(await privacy.text(), /<h2>If you forget your password: a reset<\/h2>/, "docs/privacy.md, as a page");
  assert.equal((await fetch(`${base}/account/style.css`)).headers.get("content-type"), "text/css; charset=utf-8");
});

test("the invite walk: mismatched passwords asked again, the password set once, the link refused after (410)", async () => {
  const token = member.invite("dora@hackspace.example");
  const path = `/account/invite/${token}`;
  const ip = "198.51.100.1";
  const mismatch = await post(path, { password: "correct horse battery", password2: "correct horse batterz" }, { ip });
  assert.equal(mismatch.status, 400);
  assert.match(await mismatch.text(), /role="alert"><strong>Not done:<\/strong> The two new passwords are not the same/);
  assert.equal(member.requests.filter((q) => q.op === "redeem").length, 0, "nothing reached the daemon");
  const short = await post(path, { password: "short", password2: "short" }, { ip });
  assert.equal(short.status, 400);
  assert.match(await short.text(), /too short: at least 10 characters/);

  const done = await post(path, { password: "correct horse battery", password2: "correct horse battery" }, { ip });
  assert.equal(done.status, 200);
  assert.match(await done.text(), /Your password is set[\s\S]*dora@hackspace\.example/);
  assert.equal(member.passwords.get("dora@hackspace.example"), "correct horse battery");

  const again = await fetch(`${base}${path}`);
  assert.equal(again.status, 410);
  assert.match(await again.text(), /This link no longer works/);
  const twice = await post(path, { password: "another long one", password2: "another long one" }, { ip });
  assert.equal(twice.status, 410, "a used link sets nothing");
  assert.equal(member.passwords.get("dora@hackspace.example"), "correct horse battery");
  // A link that never was one: the same page; one that cannot be a token does not even reach the daemon.
  assert.equal((await fetch(`${base}/account/invite/${newToken()}`)).status, 410);
  const asked = member.requests.length;
  assert.equal((await fetch(`${base}/account/invite/not-a-token`)).status, 410);
  assert.equal(member.requests.length, asked);
});

test("a reset link says that old mail becomes unreadable", async () => {
  const page = await (await fetch(`${base}/account/invite/${member.invite("dora@hackspace.example", "reset")}`)).text();
  assert.match(page, /This is a password reset\.<\/strong> Choosing a password here makes a new key for your mail\. Mail stored before now .* can no longer be read by anyone, you included/);
});

test("a POST from another site, or from none, is refused before anything is asked (403)", async () => {
  const token = member.invite("erin@hackspace.example");
  const fields = { password: "correct horse battery", password2: "correct horse battery" };
  const before = member.requests.length;
  for (const origin of ["https://evil.example", "http://box.hackspace.example", "null", null]) {
    const r = await post(`/account/invite/${token}`, fields, { origin, ip: "198.51.100.2" });
    assert.equal(r.status, 403, `Origin ${origin}`);
  }
  const change = await post("/account/password", { address: "dora@hackspace.example", old: "x", password: "y".repeat(12), password2: "y".repeat(12) }, { origin: "https://evil.example", ip: "198.51.100.2" });
  assert.equal(change.status, 403);
  assert.equal(member.requests.length, before, "nothing reached the daemon");
  assert.equal(member.invites.has(sha256(token)), true, "the invite is still there");
});

test("a password change needs the old password", async () => {
  const ip = "198.51.100.3";
  const form = await fetch(`${base}/account/password`);
  assert.match(await form.text(), /autocomplete="current-password"/);
  const wrong = await post("/account/password", { address: "dora@hackspace.example", old: "not it at all", password: "a new long password", password2: "a new long password" }, { ip });
  assert.equal(wrong.status, 400);
  const text = await wrong.text();
  assert.match(text, /the address or the current password is wrong/);
  assert.match(text, /value="dora@hackspace\.example"/, "the address is kept in the form");
  const ok = await post("/account/password", { address: "dora@hackspace.example", old: "correct horse battery", password: "a new long password", password2: "a new long password" }, { ip });
  assert.equal(ok.status, 200);
  assert.match(await ok.text(), /Your password is changed/);
  assert.equal(member.passwords.get("dora@hackspace.example"), "a new long password");
});

test("a guesser gets 429 after 10 POSTs in 10 minutes from one address; another address is not slowed", async () => {
  const ip = "203.0.113.66";
  const guess = (n: number) => post("/account/password", { address: "dora@hackspace.example", old: `guess number ${n}`, password: "whatever long", password2: "whatever long" }, { ip });
  for (let i = 1; i <= 10; i++) assert.equal((await guess(i)).status, 400, `guess ${i} is answered`);
  const asked = member.requests.length;
  const slowed = await guess(11);
  assert.equal(slowed.status, 429);
  assert.ok(Number(slowed.headers.get("retry-after")) > 500, "Retry-After: the rest of the 10 minutes");
  assert.match(await slowed.text(), /Too many attempts from your network/);
  assert.equal(member.requests.length, asked, "the 11th guess never reached the daemon");
  assert.equal((await post("/account/password", { address: "dora@hackspace.example", old: "x", password: "whatever long", password2: "whatever long" }, { ip: "203.0.113.67" })).status, 400);
});

test("with the daemon down, a clear 503; and nothing secret in the service's log", async () => {
  const token = member.invite("fay@hackspace.example");
  member.server.close();
  await new Promise((r) => setTimeout(r, 50));
  const r = await fetch(`${base}/account/invite/${token}`);
  assert.equal(r.status, 503);
  assert.match(await r.text(), /not answering right now\. Nothing was changed/);
  await new Promise((r) => setTimeout(r, 100));
  assert.match(log, /answered 503/, "the failure is logged");
  for (const secret of ["correct horse battery", "a new long password", "guess number", token]) assert.ok(!log.includes(secret), `the log holds ${secret}`);
  assert.doesNotMatch(log, /\/account\/invite\/[A-Za-z0-9_-]{43}/, "no token in the log");
});
