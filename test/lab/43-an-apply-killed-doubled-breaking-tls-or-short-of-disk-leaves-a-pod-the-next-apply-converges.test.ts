// Faults a team of volunteers meets (issue 19), on pod a: an apply killed at
// five moments, each followed at once by one that succeeds; two applies at
// once, and a lock whose holder went silent; a change that passes `postfix
// check` but breaks STARTTLS, and likewise for Dovecot (doveconf, IMAPS) and
// Prosody (prosodyctl check config, XMPP STARTTLS); a full disk. The pod is reused: each moment is
// made reachable by a small drift (a package removed, a comment appended to a
// managed file), not by a cold rebuild. Afterwards `podkit diff` finds nothing
// and mail and chat still cross the pods.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test, type TestContext } from "node:test";
import type { NodeSSH } from "node-ssh";
import { lockScript } from "../../lib/converge/host-lock";
import { probeFunctions, smtpStarttls, smtpTls } from "../../lib/converge/probes";
import { connectLabHost } from "../../lib/lab/ssh";
import { labHostRelease } from "../../lib/lab/state";
import { shellQuote } from "../../lib/ssh/shell";
import { onHost, podkit, REPO, type Run } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { chatBody, sessionPool, xmlLib } from "./xmppclients";

let pods: Pods;
const STACK = "stacks/lab-a.yaml";
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const pool = sessionPool();

before(async () => {
  pods = await ensurePods();
});
after(async () => {
  await pool.stopAll();
  // Whatever happened above: nothing mounted over podkit's dirs, pod a as its stack says.
  await onHost(pods.lab, "a", "umount /var/lib/podkit/stage 2>/dev/null; umount /var/backups/podkit 2>/dev/null; true");
  await apply(STACK);
});

const sh = (command: string) => onHost(pods.lab, "a", command);

/** A managed file made to differ from the stack: the next apply rewrites it, runs its handler, reloads its daemon. */
const DRIFT = {
  postfix: "echo '# drift' >> /etc/postfix/virtual",
  prosody: "echo '-- drift' >> /etc/prosody/prosody.cfg.lua",
  // Not purged: its config stays, and the next apply installs it again (a package operation to interrupt).
  coturn: "DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq coturn >/dev/null",
};

interface Started {
  done: Promise<Run & { ms: number }>;
  /** What it printed so far (with --json, its lines are on stderr). */
  output(): string;
  kill(signal: NodeJS.Signals): void;
  exited(): boolean;
}

/** `podkit apply` started as an admin starts it, to be killed from outside. */
function startApply(...extra: string[]): Started {
  const t = Date.now();
  const child = spawn(process.execPath, [path.join(REPO, "bin", "podkit.js"), "apply", STACK, "--json", ...extra], { cwd: REPO });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  let ended = false;
  const done = new Promise<Run & { ms: number }>((resolve) => child.on("close", (code, signal) => {
    ended = true;
    resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms: Date.now() - t });
  }));
  return { done, output: () => stdout + stderr, kill: (s) => child.kill(s), exited: () => ended };
}

/** Polls `condition` on host a over one connection until it holds; false when the apply ended first. */
async function waitOnHost(ssh: NodeSSH, condition: string, run: Started, ms = 300_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (run.exited()) return false;
    if ((await ssh.execCommand(condition)).code === 0) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for: ${condition}`);
}

/** The five moments: what drift makes them come, what on the host says they have come, how podkit dies. */
const MOMENTS: { name: string; drift: string[]; when: string; signal: NodeJS.Signals }[] = [
  { name: "connected, the host just locked", drift: [DRIFT.postfix], when: "test -s /run/podkit/apply.holder", signal: "SIGKILL" },
  { name: "while apt installs a package (the network gone)", drift: [DRIFT.coturn], when: "pgrep -x dpkg >/dev/null", signal: "SIGKILL" },
  { name: "while apt installs a package (Ctrl-C)", drift: [DRIFT.coturn], when: "pgrep -x dpkg >/dev/null", signal: "SIGINT" },
  // The rollback copies exist from the moment mail's files go live until its handlers, reload and probes are done.
  { name: "during mail's handler (postmap) and Postfix's reload", drift: [DRIFT.postfix], when: "test -d /var/lib/podkit/rollback/mail", signal: "SIGKILL" },
  { name: "during Prosody's restart and its client probes", drift: [DRIFT.prosody], when: "test -d /var/lib/podkit/rollback/xmpp", signal: "SIGKILL" },
];

test("an apply killed at five moments is followed at once by one that succeeds; then diff finds nothing and mail and chat cross", async (t) => {
  const ssh = await connectLabHost(pods.lab, "a");
  try {
    for (const m of MOMENTS) {
      for (const d of m.drift) assert.equal((await sh(d)).code, 0, `drift for "${m.name}"`);
      const run = startApply();
      const reached = await waitOnHost(ssh, m.when, run);
      assert.ok(reached, `the apply ended before "${m.name}":\n${(await run.done).stderr}`);
      run.kill(m.signal);
      const killed = await run.done;
      t.diagnostic(`${m.name}: killed (${m.signal}) after ${(killed.ms / 1000).toFixed(1)}s`);
      // At once: no sleep, no manual step.
      const next = await apply(STACK);
      assert.equal(next.report.exitCode, undefined, `the apply after "${m.name}" failed:\n${next.stderr}`);
      const waited = next.stderr.split("\n").filter((l) => /waiting for|dpkg --configure -a/.test(l));
      t.diagnostic(`  next apply: ${next.changes} change(s) in ${next.seconds.toFixed(1)}s${waited.length ? `; ${waited.join(" | ")}` : ""}`);
    }
  } finally {
    ssh.dispose();
  }

  const audit = await sh("dpkg --audit; ls -A /var/lib/dpkg/updates; find /etc -name '*.podkit-new'");
  assert.equal(audit.stdout.trim(), "", "dpkg is whole and no half-moved file is left");
  const diff = await podkit("diff", STACK, "--exit-code");
  assert.equal(diff.code, 0, `diff finds nothing to change:\n${diff.stdout}\n${diff.stderr}`);
  assert.equal((await sh("systemctl is-active coturn prosody postfix dovecot")).stdout.trim().split("\n").every((s) => s === "active"), true);

  const subject = token("after-kills");
  await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "alice@a.test", subject, text: "still there after the kills?" });
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject);
  const { xml } = xmlLib();
  const alice = await pool.login(pods, pods.a, "alice", pods.a.password("alice-password"));
  const bob = await pool.login(pods, pods.b, "bob", pods.b.password("bob-password"));
  const hello = token("after-kills-chat");
  await alice.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, hello)));
  await bob.waitFor((el) => el.is("message") && chatBody(el) === hello, 20_000, "alice's message");
});

test("two applies started together: one waits naming the other, both end converged; a killed run's lock is taken at once", async () => {
  await sh(`${DRIFT.postfix}; ${DRIFT.prosody}`);
  const [one, two] = await Promise.all([startApply().done, startApply().done]);
  assert.equal(one.code, 0, one.stderr);
  assert.equal(two.code, 0, two.stderr);
  const waited = [one, two].filter((r) => /waiting for the host, which another run holds: podkit apply by \S+ on \S+ \(pid \d+, podkit [^)]+\), started/.test(r.stderr));
  assert.equal(waited.length, 1, `exactly one waited, naming the other:\n${one.stderr}\n---\n${two.stderr}`);
  assert.equal((await podkit("diff", STACK, "--exit-code")).code, 0);

  // Killed while holding the host: its SSH connection closes, and the lock with it.
  await sh(DRIFT.postfix);
  const ssh = await connectLabHost(pods.lab, "a");
  try {
    const run = startApply();
    assert.ok(await waitOnHost(ssh, "test -s /run/podkit/apply.holder", run));
    run.kill("SIGKILL");
    await run.done;
  } finally {
    ssh.dispose();
  }
  const next = await podkit("apply", STACK, "--lock-wait", "10");
  assert.equal(next.code, 0, next.stderr);
});

test("a holder gone silent (a laptop off the network) makes a second apply wait or refuse with exit 75 naming it, then is taken over", async (t) => {
  // The lock as a podkit on a laptop holds it: heartbeats while the test says so, then none (the network gone).
  const ghost = { machine: "hackspace-laptop", user: "ghost", started: new Date().toISOString(), version: "0.0.1", pid: 4242, what: "apply" };
  const ssh = await connectLabHost(pods.lab, "a");
  let beat: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      ssh.connection!.exec(`bash -c ${shellQuote(lockScript(ghost, 0))}`, (err: Error | undefined, stream: any) => {
        if (err) return reject(err);
        beat = setInterval(() => stream.write("."), 5000);
        stream.on("data", (d: Buffer) => d.toString().includes("podkit:locked") && resolve());
        stream.stderr.on("data", () => {});
      });
    });
    const refused = await podkit("apply", STACK, "--lock-wait", "2");
    assert.equal(refused.code, 75, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, /another run holds the host after 2s of waiting: podkit apply by ghost on hackspace-laptop \(pid 4242, podkit 0\.0\.1\)/);

    // A second apply waits, naming the ghost; once it waits, the ghost's laptop drops off the network.
    const run = startApply("--lock-wait", "120");
    const deadline = Date.now() + 120_000;
    let silentAt = 0;
    while (!run.exited() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      if (!silentAt && /waiting for the host, which another run holds: podkit apply by ghost on hackspace-laptop/.test(run.output())) {
        clearInterval(beat);
        silentAt = Date.now();
      }
    }
    const taken = await run.done;
    assert.equal(taken.code, 0, taken.stderr);
    assert.ok(silentAt, `the apply waited, naming the ghost:\n${taken.stderr}`);
    t.diagnostic(`the silent holder's lock was taken over ${((Date.now() - silentAt) / 1000).toFixed(1)}s after its last heartbeat (apply included)`);
  } finally {
    clearInterval(beat);
    ssh.dispose();
  }
});

/**
 * lab-a's stack with `insert` added under `<section>:\n  host: mx`, applied: it must fail with
 * `error` and leave `file` as it was, and `client` (a TLS client on the host, against the pod
 * CA) must then connect as before.
 */
async function rolledBack(section: "mail" | "chat", insert: string, file: string, error: RegExp, client: { what: string; command: string }): Promise<void> {
  const stack = path.join(mkdtempSync(path.join(tmpdir(), "podkit-tls-")), "lab-a.yaml");
  const original = readFileSync(path.join(REPO, STACK), "utf8");
  const edited = original.replace(`${section}:\n  host: mx\n`, `${section}:\n  host: mx\n${insert}`);
  assert.notEqual(edited, original);
  writeFileSync(stack, edited);
  const before = await sh(`sha256sum ${file}`);
  const r = await apply(stack, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, 1, r.stderr);
  assert.match(r.report.errors.join("\n"), error);
  assert.equal((await sh(`sha256sum ${file}`)).stdout, before.stdout, `the old ${file} is live again`);
  const after = await sh(`${client.command} -verify_return_error -CAfile /etc/ssl/certs/ca-certificates.crt -brief </dev/null 2>&1`);
  assert.equal(after.code, 0, `${client.what} works after the rollback:\n${after.stdout}`);
}

test("a mail.postfix value that passes postfix check but breaks STARTTLS is rolled back: apply names Postfix and TLS, STARTTLS works after", async () => {
  await rolledBack("mail", "  postfix:\n    smtpd_tls_cert_file: /etc/ssl/certs/podkit-missing.pem\n", "/etc/postfix/main.cf",
    /mx\/mail: rolled back \/etc\/postfix\/main\.cf: postfix: STARTTLS on (25|587) failed: .*TLS/,
    { what: "STARTTLS on 587", command: `openssl s_client -connect 127.0.0.1:587 -starttls smtp -verify_hostname ${pods.a.mx}` });
});

test("a mail.dovecot value that passes doveconf but serves Debian's snakeoil certificate is rolled back: apply names Dovecot and what the IMAPS client saw, IMAPS works after", async () => {
  // Debian's own conf.d/10-ssl.conf lines, as an admin might paste them: /etc/dovecot/private/dovecot.pem
  // is Debian's self-signed snakeoil certificate (test/config/a-tls-break-the-checkers-pass-is-what-the-probes-catch.test.ts).
  const lines = labHostRelease(pods.lab, "a") === "bookworm"
    ? "    ssl_cert: </etc/dovecot/private/dovecot.pem\n    ssl_key: </etc/dovecot/private/dovecot.key\n"
    : "    ssl_server_cert_file: /etc/dovecot/private/dovecot.pem\n    ssl_server_key_file: /etc/dovecot/private/dovecot.key\n";
  await rolledBack("mail", `  dovecot:\n${lines}`, "/etc/dovecot/dovecot.conf",
    /mx\/mail: rolled back \/etc\/dovecot\/dovecot\.conf: dovecot: IMAPS greeting on 993 failed: verify error:num=18:self-signed certificate \(certificate CN ?= ?\S+\)/,
    { what: "IMAPS on 993", command: `openssl s_client -connect 127.0.0.1:993 -verify_hostname ${pods.a.mx}` });
});

test("a chat.prosody value that passes prosodyctl check config but drops STARTTLS is rolled back: apply names Prosody and what the XMPP client saw, STARTTLS works after", async () => {
  // An admin adding one module writes the list: it replaces podkit's, "tls" (STARTTLS) included.
  await rolledBack("chat", "  prosody:\n    modules_enabled: [announce]\n", "/etc/prosody/prosody.cfg.lua",
    /mx\/xmpp: rolled back \/etc\/prosody\/prosody\.cfg\.lua: prosody: STARTTLS on 5222 failed: no STARTTLS offered for a\.test: /,
    { what: "STARTTLS on 5222", command: `openssl s_client -connect 127.0.0.1:5222 -starttls xmpp -xmpphost ${pods.a.domain} -verify_hostname ${pods.a.domain}` });
});

test("a full disk: apply and backup refuse naming the filesystem and the space; every file is the old or the new one", async () => {
  await sh(DRIFT.postfix);
  const drifted = (await sh("sha256sum /etc/postfix/virtual")).stdout;
  try {
    assert.equal((await sh("mount -t tmpfs -o size=256k,mode=711 podkit-full /var/lib/podkit/stage")).code, 0, "a small tmpfs over the staging dir");
    const r = await apply(STACK);
    assert.equal(r.report.exitCode, 1, r.stderr);
    assert.match(r.report.errors.join("\n"), /mx\/mail: not enough free space on \/var\/lib\/podkit\/stage: this change needs [\d.]+ MiB free there .* it has 0\.\d MiB; nothing was changed/);
    assert.equal((await sh("sha256sum /etc/postfix/virtual")).stdout, drifted, "the file is the old one");
    assert.equal((await sh("find /etc -name '*.podkit-new'")).stdout.trim(), "");
    // Every other managed file is the new one: diff names only the drifted file (and its handler and reload).
    const diff = await podkit("diff", STACK, "--json");
    const items = JSON.parse(diff.stdout).hosts.flatMap((h: { roles: { items: string[] }[] }) => h.roles.flatMap((x) => x.items));
    assert.deepEqual(items.filter((i: string) => i.startsWith("/")), ["/etc/postfix/virtual"]);

    assert.equal((await sh("mount -t tmpfs -o size=1m,mode=700 podkit-full /var/backups/podkit")).code, 0, "a small tmpfs over the backup's stage");
    const backup = await podkit("backup", STACK);
    assert.equal(backup.code, 1, backup.stdout + backup.stderr);
    assert.match(backup.stdout, /not enough free space on \/var\/backups\/podkit to stage the backup: it needs \d+ MiB free, it has [01] MiB; nothing was staged or sent/);
  } finally {
    await sh("umount /var/lib/podkit/stage 2>/dev/null; umount /var/backups/podkit 2>/dev/null; true");
  }
  const r = await apply(STACK);
  assert.equal(r.report.exitCode, undefined, r.stderr);
  assert.equal((await podkit("diff", STACK, "--exit-code")).code, 0);
});

test("what the client-level probes add: nothing on a no-op apply, a few seconds on a one-file change", async (t: TestContext) => {
  const noop = await apply(STACK);
  assert.equal(noop.changes, 0);
  await sh(DRIFT.postfix);
  const one = await apply(STACK);
  assert.equal(one.report.exitCode, undefined, one.stderr);
  // The probes a Postfix reload runs, timed on the host alone.
  const probes = [smtpStarttls(25, pods.a.mx), smtpStarttls(587, pods.a.mx), smtpTls(465, pods.a.mx)];
  const script = `${probeFunctions()}\nt=$(date +%s%N); ${probes.map((p) => `${p.run} || exit 1`).join("; ")}; echo $(( ($(date +%s%N) - t) / 1000000 ))`;
  const timed = await sh(`bash -c ${shellQuote(script)}`);
  assert.equal(timed.code, 0, timed.stdout);
  t.diagnostic(`no-op apply: ${noop.seconds.toFixed(1)}s (no unit reloaded, no probe run); one-file change (/etc/postfix/virtual): ` +
    `${one.seconds.toFixed(1)}s, of which Postfix's three probes take ${timed.stdout.trim()} ms and the settle after its reload 1 s`);
});
