// podkit-ban's counting (roles/base/templates/usr/local/lib/podkit/ban.awk), fed
// journal lines (`journalctl -o short-unix --no-hostname`) as each daemon writes
// them on Debian 12 and 13. The messages come from the daemons' own format
// strings, read in the checker roots:
//  - Postfix 3.7 / 3.10 smtpd: "%s: SASL %.100s authentication failed: %s, sasl_username=%.100s"
//    after msg_warn's "warning: ", with namaddr "name[addr]";
//  - Dovecot 2.3.19: login_log_format "%$: %s", the reason then " (auth failed, %u attempts in %u secs)",
//    elements "user=<%u> method=%m rip=%r lip=%l mpid=%e %c session=<%{session}>" joined by ", ";
//  - Dovecot 2.4.1: "Login aborted: %s (%s)" with the event reason, login_log_format "%{message}: %{elements}";
//  - Prosody 0.12 / 13: pposix syslog "<source>: <message>" of podkit's mod_podkit_auth_log.
// test/config/failed-logins-as-each-daemon-really-logs-them-get-banned.test.ts feeds what Dovecot and Prosody
// themselves log in each checker root.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { banFollower, banRules, banSettings, type BanSettings } from "../../roles/base/banning";
import { base } from "../../roles/base/role";
import { roleContext } from "../../lib/converge/pod";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { loadStackFile, parseStack } from "../../lib/stack/load";
import { formatProblem } from "../../lib/stack/problems";

const SETTINGS: BanSettings = { failures: 3, within: 600, banFor: 3600, never: ["127.0.0.0/8", "::1/128", "198.51.100.0/24", "2001:db8:ad::/48"] };

/** Runs the rendered ban.awk over `lines`; returns the ban lines it printed. */
function bans(lines: string[], settings: BanSettings = SETTINGS): string[] {
  const awk = banFollower("mx.example.org", settings).files.find((f) => f.path.endsWith("ban.awk"))!.content;
  const dir = mkdtempSync(join(tmpdir(), "podkit-ban-"));
  writeFileSync(join(dir, "ban.awk"), awk);
  const r = spawnSync("mawk", ["-W", "interactive", "-v", `failures=${settings.failures}`, "-v", `within=${settings.within}`, "-v", `banfor=${settings.banFor}`,
    "-v", `never=${settings.never.join(" ")}`, "-f", join(dir, "ban.awk")], { input: lines.join("\n") + "\n", encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split("\n").filter(Boolean);
}

const at = (t: number, rest: string) => `${t}.123456 ${rest}`;
const postfix = (t: number, addr: string, service = "submission", mech = "PLAIN", user = "alice@example.org") =>
  at(t, `postfix/${service}/smtpd[4242]: warning: unknown[${addr}]: SASL ${mech} authentication failed: (reason unavailable), sasl_username=${user}`);
// As Dovecot logged them in the checker roots (test/config/failed-logins-as-each-daemon-really-logs-them-get-banned.test.ts),
// for a client that logs out, or one that just closes the connection.
const dovecot23 = (t: number, addr: string, attempts = 1, login = "imap", user = "alice@example.org", why = "Aborted login by logging out") =>
  at(t, `dovecot[812]: ${login}-login: Disconnected: ${why} (auth failed, ${attempts} attempts in 2 secs): user=<${user}>, method=PLAIN, rip=${addr}, lip=192.0.2.10, TLS, session=<N9YI1aJhvuR/AAAB>`);
const dovecot24 = (t: number, addr: string, attempts = 1, login = "imap", user = "alice@example.org", why = "Logged out") =>
  at(t, `dovecot[812]: ${login}-login: Login aborted: ${why} (auth failed, ${attempts} attempts in 2 secs) (auth_failed): user=<${user}>, method=PLAIN, rip=${addr}, lip=192.0.2.10, TLS, session=<wdT71aJhFJl/AAAB>`);
const prosody = (t: number, addr: string) => at(t, `prosody[977]: c2s55e0a7b0e3a0: Failed authentication attempt from IP: ${addr} (not-authorized)`);

test("three failed logins within the window ban the address, for the configured time, whichever daemon saw them", () => {
  for (const [name, line] of [["Postfix submission", postfix], ["Dovecot 2.3", dovecot23], ["Dovecot 2.4", dovecot24], ["Prosody", prosody]] as const) {
    const out = bans([line(1000, "203.0.113.7"), line(1100, "203.0.113.7"), line(1200, "203.0.113.7")]);
    assert.equal(out.length, 1, `${name}: ${out.join("\n")}`);
    assert.match(out[0], /^ban 4 203\.0\.113\.7 3600 3 failures within 600s \(/, name);
  }
});

test("failures at today's epoch times are counted (each one's time is kept to the second, not rounded)", () => {
  // Seen in the lab: 2026-12-02 12:29, three SMTP AUTH failures six seconds apart. Kept
  // as "%.6g" text, each became 1796210000, 76 minutes old, and none was counted.
  const out = bans([postfix(1796214562, "203.0.113.7"), postfix(1796214568, "203.0.113.7"), postfix(1796214574, "203.0.113.7")]);
  assert.deepEqual(out, ["ban 4 203.0.113.7 3600 3 failures within 600s (SMTP AUTH)"]);
  // And the window still closes: the third failure 601 s after the first bans nobody.
  assert.deepEqual(bans([postfix(1796214562, "203.0.113.7"), postfix(1796214600, "203.0.113.7"), postfix(1796215163, "203.0.113.7")]), []);
});

test("a client that closes the connection instead of logging out is counted the same", () => {
  assert.equal(bans([1, 2, 3].map((t) => dovecot23(t, "203.0.113.7", 1, "imap", "a", "Connection closed"))).length, 1);
  assert.equal(bans([1, 2, 3].map((t) => dovecot24(t, "203.0.113.7", 1, "imap", "a", "Connection closed"))).length, 1);
});

test("failures count together across SMTP AUTH on 587 and 465, IMAP, ManageSieve and XMPP", () => {
  const out = bans([postfix(1000, "203.0.113.7", "submissions", "LOGIN"), dovecot24(1001, "203.0.113.7", 1, "managesieve"), prosody(1002, "203.0.113.7")]);
  assert.deepEqual(out, ["ban 4 203.0.113.7 3600 3 failures within 600s (XMPP)"]);
});

test("two failures are not enough, and failures spread wider than the window never ban", () => {
  assert.deepEqual(bans([postfix(1000, "203.0.113.7"), postfix(1100, "203.0.113.7")]), []);
  assert.deepEqual(bans([postfix(1000, "203.0.113.7"), postfix(1400, "203.0.113.7"), postfix(1700, "203.0.113.7"), postfix(2000, "203.0.113.7")]), []);
  // Other addresses' failures are theirs.
  assert.deepEqual(bans([postfix(1000, "203.0.113.7"), postfix(1001, "203.0.113.8"), postfix(1002, "203.0.113.9")]), []);
});

test("Dovecot's count of attempts in one connection counts each attempt", () => {
  assert.deepEqual(bans([dovecot23(1000, "203.0.113.7", 3)]), ["ban 4 203.0.113.7 3600 3 failures within 600s (imap login)"]);
  assert.deepEqual(bans([dovecot23(1000, "203.0.113.7", 2)]), []);
});

test("IPv6 addresses are banned in the IPv6 set, an IPv4-mapped one in the IPv4 set", () => {
  const v6 = "2001:db8:1:2::77";
  assert.deepEqual(bans([dovecot24(1, v6), postfix(2, v6), prosody(3, v6)]), [`ban 6 ${v6} 3600 3 failures within 600s (XMPP)`]);
  assert.deepEqual(bans([prosody(1, "::ffff:203.0.113.7"), prosody(2, "::ffff:203.0.113.7"), prosody(3, "::FFFF:203.0.113.7")]), ["ban 4 203.0.113.7 3600 3 failures within 600s (XMPP)"]);
});

test("the admins' ranges and the host itself are never banned, IPv4 and IPv6", () => {
  for (const addr of ["198.51.100.200", "127.0.0.1", "::1", "2001:db8:ad:ffff::1", "2001:0db8:00ad::9"]) {
    assert.deepEqual(bans([postfix(1, addr), postfix(2, addr), postfix(3, addr), postfix(4, addr)]), [], addr);
  }
  // Just outside them: banned.
  for (const addr of ["198.51.101.1", "2001:db8:ae::1"]) {
    assert.equal(bans([postfix(1, addr), postfix(2, addr), postfix(3, addr)]).length, 1, addr);
  }
});

test("a login name cannot choose whom Dovecot's line bans, nor make a success count", () => {
  // The address is the last rip= Dovecot wrote, after the name the client sent.
  const forged = "x>, method=PLAIN, rip=198.51.100.9, lip=1.2.3.4, TLS, session=<a> (auth failed, 99 attempts";
  assert.deepEqual(bans([dovecot24(1, "203.0.113.7", 1, "imap", forged), dovecot24(2, "203.0.113.7"), dovecot24(3, "203.0.113.7")]),
    ["ban 4 203.0.113.7 3600 3 failures within 600s (imap login)"]);
  // A logout after no failure, whose user name claims one, counts nothing.
  const login = at(5, `dovecot[812]: imap-login: Login aborted: Logged out (auth aborted by client, 1 attempts in 0 secs) (auth_aborted_by_client): user=<(auth failed, 50 attempts>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.10, TLS`);
  assert.deepEqual(bans([login]), []);
  // Postfix: the address in brackets right after "warning: ", not one inside the login name.
  assert.deepEqual(bans([1, 2, 3].map((t) => postfix(t, "203.0.113.7", "submission", "PLAIN", "a warning: unknown[198.51.100.9]: SASL PLAIN authentication failed"))),
    ["ban 4 203.0.113.7 3600 3 failures within 600s (SMTP AUTH)"]);
});

test("lines that are not failed logins count nothing", () => {
  const lines = [
    at(1, "postfix/submission/smtpd[4242]: connect from unknown[203.0.113.7]"),
    at(2, "postfix/submission/smtpd[4242]: lost connection after AUTH from unknown[203.0.113.7]"),
    at(3, "dovecot[812]: imap-login: Login: user=<alice@example.org>, method=PLAIN, rip=203.0.113.7, lip=192.0.2.10, mpid=5, TLS, session=<x>"),
    at(4, "dovecot[812]: imap-login: Disconnected: Connection closed (no auth attempts in 0 secs): user=<>, rip=203.0.113.7, lip=192.0.2.10, TLS, session=<x>"),
    at(4, "dovecot[812]: imap-login: Login aborted: Connection closed (disconnected during TLS handshake) (tls_handshake_not_finished): user=<>, rip=203.0.113.7, lip=192.0.2.10, TLS handshaking: Connection closed, session=<9pn71aJhBpl/AAAB>"),
    at(5, "prosody[977]: c2s55e0a7b0e3a0: Client disconnected: connection closed"),
  ];
  assert.deepEqual(bans([...lines, ...lines, ...lines]), []);
});

test("after a ban the address starts again from nothing", () => {
  const out = bans([1, 2, 3, 4, 5, 6].map((t) => postfix(t, "203.0.113.7")));
  assert.equal(out.length, 2, out.join("\n"));
});

test("the firewall drops new connections from banned addresses except the admins', and keeps the sets only when banning is on", () => {
  const loaded = loadStackFile(join(__dirname, "../../stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  const stack = { ...loaded.stack, admin: { ...loaded.stack.admin, sshFrom: ["198.51.100.0/24", "2001:db8:ad::/48"] } };
  const nft = (s: typeof stack) => base.state(roleContext(s, "mx", () => "x", HCLOUD_PROFILE)).files.find((f) => f.path === "/etc/nftables.conf")!.content;
  const on = nft(stack);
  assert.match(on, /set banned_ipv4 \{\s+type ipv4_addr\s+flags timeout/);
  assert.match(on, /set banned_ipv6 \{\s+type ipv6_addr\s+flags timeout/);
  assert.match(on, /^\s+ip saddr @banned_ipv4 ip saddr != \{ 198\.51\.100\.0\/24 \} drop/m);
  assert.match(on, /^\s+ip6 saddr @banned_ipv6 ip6 saddr != \{ 2001:db8:ad::\/48 \} drop/m);
  // Before any port is accepted, after the replies of connections already open.
  assert.ok(on.indexOf("@banned_ipv4") > on.indexOf("ct state established,related accept"));
  assert.ok(on.indexOf("@banned_ipv4") < on.indexOf("dport 25 accept"));
  const off = nft({ ...stack, banning: false });
  assert.doesNotMatch(off, /banned_ipv/);
  const units = base.state(roleContext({ ...stack, banning: false }, "mx", () => "x", HCLOUD_PROFILE)).services!.map((s) => s.unit);
  assert.ok(!units.includes("podkit-ban.service"));
  assert.deepEqual(banRules(banSettings({ ...stack, banning: false })), false);
});

test("a host without its own firewall gets no ban follower: it would have no set to add to", () => {
  const loaded = loadStackFile(join(__dirname, "../../stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  const s = base.state(roleContext(loaded.stack, "mx", () => "x", { ...HCLOUD_PROFILE, firewall: false }));
  assert.ok(!s.services!.some((x) => x.unit === "podkit-ban.service"));
  assert.ok(!s.files.some((f) => f.path === "/usr/local/sbin/podkit-ban"));
});

test("the stack's banning limits reach the follower in seconds, with loopback and admin.sshFrom spared", () => {
  const loaded = loadStackFile(join(__dirname, "../../stacks/lab-a.yaml"));
  assert.ok(loaded.ok);
  const settings = banSettings(loaded.stack);
  assert.deepEqual(settings, { failures: 10, within: 600, banFor: 3600, never: ["127.0.0.0/8", "::1/128", "10.77.0.1/32"] });
  const script = banFollower("mx.a.test", settings as BanSettings).files.find((f) => f.path === "/usr/local/sbin/podkit-ban")!.content;
  assert.match(script, /-v failures=10 -v within=600 -v banfor=3600/);
  assert.match(script, /-v never='127\.0\.0\.0\/8 ::1\/128 10\.77\.0\.1\/32'/);
  assert.match(script, /--since=-600s/);
});

test("a wrong banning field is named with its line and what was expected", () => {
  const lab = readFileSync(join(__dirname, "../../stacks/lab-a.yaml"), "utf8");
  const problems = (banning: string) => {
    const r = parseStack(`${lab}\nbanning: ${banning}\n`, "stacks/x.yaml");
    return r.ok ? [] : r.problems.map(formatProblem);
  };
  const line = lab.split("\n").length + 1;
  assert.deepEqual(problems("true"), [`stacks/x.yaml:${line}:10 banning: expected false or a mapping (key: value lines), got boolean true`]);
  assert.deepEqual(problems("{ within: 10 }"), [`stacks/x.yaml:${line}:20 banning.within: expected a text value, got number 10`]);
  assert.deepEqual(problems('{ for: "1 hour" }'), [`stacks/x.yaml:${line}:17 banning.for: expected a duration: a whole number and s, m, h or d (e.g. "10m", "1h"), got "1 hour"`]);
  assert.deepEqual(problems("{ failures: 1 }"), [`stacks/x.yaml:${line}:22 banning.failures: expected at least 2, got number 1`]);
  assert.deepEqual(problems("false"), []);
  const r = parseStack(lab, "stacks/x.yaml");
  assert.ok(r.ok);
  assert.deepEqual(r.stack.banning, { failures: 10, within: "10m", for: "1h" }, "the defaults");
});
