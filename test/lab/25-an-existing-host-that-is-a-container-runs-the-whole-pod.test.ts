// Lab host a, described as an admin would describe a Debian container they
// were handed: an `existing` host with its address and pinned host key, no
// `lab:` key, reached with a key held only by an SSH agent. podkit finds out
// on its own that it is an IPv4-only systemd-nspawn container, applies the
// whole pod for that (no time sync, no IPv6 listener, inet_protocols = ipv4),
// and mail and chat cross to pod b as they do for the lab pod. At the end pod a
// is applied from stacks/lab-a.yaml again, so the tests after this one find it
// as they expect.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { authenticate } from "mailauth";
import { labHostRelease } from "../../lib/lab/state";
import { mustRelease } from "../../lib/stack/releases";
import { onHost, REPO, type Run } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { chatBothWays, sessionPool } from "./xmppclients";

/** What apply and plan must find host a to be: its release is the one the lab gave it (Debian 13 by default). */
let EXPECTED = "";

let pods: Pods;
let dir: string;
let stack: string;
let agent: ChildProcess | undefined;
let agentSocket: string;
const pool = sessionPool();

/** podkit as an admin with only an SSH agent runs it: SSH_AUTH_SOCK set, no -i. */
function podkitWithAgent(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(REPO, "bin", "podkit.js"), ...args], {
      cwd: REPO, timeout: 900_000, maxBuffer: 64 << 20, env: { ...process.env, SSH_AUTH_SOCK: agentSocket },
    }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr }));
  });
}

/** stacks/lab-a.yaml with host mx turned into an existing host: lab host a's address and pinned key, nothing else of the lab. */
function existingStackText(): string {
  const a = pods.lab.hosts.a;
  const text = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  const existing = [
    "    existing:",
    `      address: ${a.address}`,
    `      hostKey: "${a.hostKey}"`,
    `      ssh: { user: ${a.user} }`,
    // What no detection can know: the site's resolver, which serves the reserved .test zones and the
    // lab's reverse names, and passes no DNSSEC through (it forwards to the outer machine's, which strips it).
    `      profile: { resolver: { address: ${pods.lab.resolver}, privateZones: [test, 10.in-addr.arpa], dnssec: false } }`,
  ].join("\n");
  // The admin's own key, the one in the agent podkit logs in with: sshd accepts only the stack's keys for root.
  const adminKey = readFileSync(`${a.sshPrivateKeyPath}.pub`, "utf8").trim();
  const replaced = text.replace(/^ {4}lab: \{ name: a \}$/m, existing)
    .replace("admin: { sshFrom: [10.77.0.1/32] }\n", `admin:\n  sshFrom: [10.77.0.1/32]\n  sshKeys:\n    - ${adminKey}\n`);
  assert.notEqual(replaced, text, "stacks/lab-a.yaml names lab host a as `lab: { name: a }`");
  assert.match(replaced, /^admin:\n  sshFrom: \[10\.77\.0\.1\/32\]\n  sshKeys:\n    - ssh-/m);
  assert.doesNotMatch(replaced, /^\s+lab:/m, "no lab key is left");
  return replaced;
}

before(async () => {
  pods = await ensurePods();
  const release = mustRelease(labHostRelease(pods.lab, "a"));
  EXPECTED = `Debian ${release.version} (${release.codename}), container (systemd-nspawn), IPv4 only`;
  dir = mkdtempSync(path.join(tmpdir(), "podkit-existing-a-"));
  stack = path.join(dir, "lab-a.yaml");
  writeFileSync(stack, existingStackText());
  // The lab's secrets, so the DKIM key is the one the lab DNS already publishes for a.test.
  copyFileSync(path.join(REPO, "stacks/lab-a.secrets.yaml"), path.join(dir, "lab-a.secrets.yaml"));
  // An agent of our own, in the foreground so we hold its process, with the lab key only in it.
  agentSocket = path.join(dir, "agent.sock");
  agent = spawn("ssh-agent", ["-D", "-a", agentSocket], { stdio: "ignore" });
  for (let i = 0; !existsSync(agentSocket); i++) {
    assert.ok(i < 100, "ssh-agent made its socket");
    await new Promise((r) => setTimeout(r, 50));
  }
  const added = await new Promise<Run>((resolve) => execFile("ssh-add", [pods.lab.hosts.a.sshPrivateKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: agentSocket } },
    (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })));
  assert.equal(added.code, 0, added.stderr);
});

after(async () => {
  await pool.stopAll();
  agent?.kill();
  // Pod a as the lab stack says, for every test after this one.
  const back = await apply("stacks/lab-a.yaml");
  assert.equal(back.report.exitCode, undefined, back.stderr);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let first: { report: any; stderr: string };

test("podkit apply converges lab host a as an existing host through the SSH agent, finding an IPv4-only nspawn container", async (t) => {
  const r = await podkitWithAgent("apply", stack, "--json");
  t.diagnostic(r.stderr.split("\n").filter((l) => /^(\S+\/)?mx: /.test(l)).join("\n"));
  assert.equal(r.code, 0, r.stderr);
  first = { report: JSON.parse(r.stdout), stderr: r.stderr };
  assert.deepEqual(first.report.errors, []);
  assert.equal(first.report.hosts[0].profile, EXPECTED);
  // Said once per host and run, with what the container leaves to the machine outside.
  // Lines name pod and host ("lab-a/mx: ...").
  assert.equal(r.stderr.split("\n").filter((l) => l.replace(/^[a-z0-9-]+\//, "") === `mx: ${EXPECTED}`).length, 1, r.stderr);
  assert.match(r.stderr, /^([a-z0-9-]+\/)?mx: time sync is the job of the machine outside this container/m);
  assert.doesNotMatch(r.stderr, /timesyncd.*not healthy|rolled back/);
});

test("a second apply changes nothing, in one SSH round-trip", async () => {
  const r = await podkitWithAgent("apply", stack, "--json");
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.changes, 0, JSON.stringify(report.hosts, null, 1));
});

test("the IPv4-only host has no IPv6 listener, postfix speaks IPv4 only, and the plan publishes no AAAA", async () => {
  const ss = await onHost(pods.lab, "a", "ss -Hltn");
  const wildcard6 = ss.stdout.split("\n").filter((l) => /\s(\[::\]|\*):\d+\s/.test(l));
  assert.deepEqual(wildcard6, [], `listeners on ::\n${ss.stdout}`);
  const protocols = await onHost(pods.lab, "a", "postconf -h inet_protocols");
  assert.equal(protocols.stdout.trim(), "ipv4");
  const timesyncd = await onHost(pods.lab, "a", "dpkg-query -W -f='${db:Status-Status}' systemd-timesyncd 2>/dev/null; systemctl is-failed systemd-timesyncd.service");
  assert.doesNotMatch(timesyncd.stdout, /^failed$/m, "no failed time sync unit");

  const plan = await podkitWithAgent("plan", stack, "--json");
  assert.equal(plan.code, 0, plan.stderr);
  const p = JSON.parse(plan.stdout);
  assert.deepEqual(p.records.filter((r: { type: string }) => r.type === "AAAA"), []);
  assert.equal(p.hosts[0].is, EXPECTED, "plan asked the host what it is");
});

test("mail from b reaches the existing host a, and mail from a reaches b, both with DKIM, SPF and DMARC passing", async (t) => {
  const cases = [
    { from: pods.b, to: pods.a, sender: "bob@b.test", user: "bob", rcpt: "alice@a.test", rcptUser: "alice", domain: "b.test" },
    { from: pods.a, to: pods.b, sender: "alice@a.test", user: "alice", rcpt: "bob@b.test", rcptUser: "bob", domain: "a.test" },
  ];
  for (const c of cases) {
    const subject = token("existing-a");
    const sent = await submit(pods, c.from, c.sender, c.from.password(`${c.user}-password`), { to: c.rcpt, subject, text: `Hello from ${c.sender}` });
    assert.match(sent.response, /^250 /);
    const raw = await fetchBySubject(pods, c.to, c.rcpt, c.to.password(`${c.rcptUser}-password`), subject);
    const auth = await authenticate(raw, {
      ip: c.from.ip, helo: c.from.mx, sender: c.sender, mta: c.to.mx,
      resolver: (name: string, rr: string) => pods.resolver.resolve(name, rr as "TXT") as Promise<any>,
    });
    const dkim = auth.dkim.results.find((r: any) => r.signingDomain === c.domain);
    t.diagnostic(`${c.sender} -> ${c.rcpt}: dkim=${dkim?.status.result} spf=${auth.spf.status.result} dmarc=${auth.dmarc.status.result}`);
    assert.equal(dkim?.status.result, "pass");
    assert.equal(auth.spf.status.result, "pass");
    assert.equal(auth.dmarc.status.result, "pass");
    // The receiving pod's own checks agree (a's rspamd asks the host's resolver).
    assert.match(raw.toString(), new RegExp(`^Authentication-Results: ${c.to.mx.replace(/\./g, "\\.")};[\\s\\S]*?dkim=pass[^\\n]*header\\.d=${c.domain.replace(/\./g, "\\.")}`, "m"));
  }
});

test("chat crosses between the existing host a and pod b, both ways", async () => {
  const alice = await pool.login(pods, pods.a, "alice", pods.a.password("alice-password"));
  const bob = await pool.login(pods, pods.b, "bob", pods.b.password("bob-password"));
  await chatBothWays(alice, bob, "existing");
});
