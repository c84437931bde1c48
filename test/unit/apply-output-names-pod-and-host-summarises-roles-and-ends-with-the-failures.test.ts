// What a person sees while `podkit apply` works, with a fake host playing a
// fresh Debian server (it answers apt's progress like apt does): in a log,
// plain lines only, each naming pod and host, a short line per role, a closing
// table and, last, a failure with the checker's words and the next command; on
// a terminal, one live line per host that follows apt.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runConverge, type ConvergeIO } from "../../lib/cli/converge-run";
import type { Session, Watch } from "../../lib/converge/ssh";
import type { HostTarget } from "../../lib/ssh/connect";
import { TEST_PROVIDERS } from "./host-profiles";
import { replay, Screen } from "./screen";

const ROOT = join(__dirname, "..", "..");
const DETECTION = readFileSync(join(ROOT, "test", "fixtures", "host-facts", "vm-hetzner-kvm.txt"), "utf8");

/** The hackspace stack (host "box") as pod `pod`, with secrets, in a directory of its own. */
function stackFile(pod = "hackspace"): string {
  const dir = mkdtempSync(join(tmpdir(), "podkit-output-"));
  const text = readFileSync(join(ROOT, "stacks", "hackspace.yaml"), "utf8").replace(/^pod: hackspace$/m, `pod: ${pod}`);
  assert.match(text, new RegExp(`^pod: ${pod}$`, "m"));
  writeFileSync(join(dir, `${pod}.yaml`), text);
  const dkim = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(join(dir, `${pod}.secrets.yaml`), `ada-password: a\ngrace-password: g\nrelay-password: r\npassword-salt: s\nturn-secret: t\ndkim-key: |\n${dkim.trimEnd().replace(/^/gm, "  ")}\n`, { mode: 0o600 });
  return join(dir, `${pod}.yaml`);
}

/** What apt-get -o APT::Status-Fd prints while it installs postfix and its dependency (apt 2.6's lines). */
const APT_STATUS = [
  "dlstatus:1:0.0000:Retrieving file 1 of 2",
  "dlstatus:2:50.0000:Retrieving file 2 of 2",
  "pmstatus:dpkg-exec:0.0000:Running dpkg",
  "pmstatus:ssl-cert:amd64:10.0000:Preparing ssl-cert (amd64)",
  "pmstatus:ssl-cert:amd64:30.0000:Configuring ssl-cert (amd64)",
  "pmstatus:postfix:amd64:60.0000:Unpacking postfix (amd64)",
  "pmstatus:postfix:amd64:80.0000:Configuring postfix (amd64)",
  "",
].join("\n");

/**
 * A fresh server: nothing installed until apt ran (its progress streamed in two
 * chunks, cut mid-line), every other script succeeds, unless `refuse` names a
 * role whose checker refuses the staged config.
 */
function freshHost(opts: { refuse?: string; aptPauseMs?: number } = {}) {
  let installed = false;
  return async (target: HostTarget): Promise<Session> => {
    const session = {
      target,
      async run(script: string, watch: Watch = {}) {
        if (script.includes("APT::Status-Fd")) {
          const cut = APT_STATUS.indexOf("Configuring postfix");
          watch.stdout?.(APT_STATUS.slice(0, cut));
          await new Promise((r) => setTimeout(r, opts.aptPauseMs ?? 0));
          watch.stdout?.(APT_STATUS.slice(cut));
          installed = true;
          return { code: 0, stdout: APT_STATUS, stderr: "" };
        }
        if (script.includes("dpkg-query -W")) {
          const asked = /dpkg-query -W -f='[^']*' (.*?) 2>/.exec(script)?.[1] ?? "";
          const packages = installed ? asked.split(" ").map((p) => `P ${p.replace(/'/g, "")} installed 1.0`) : [];
          return { code: 0, stdout: `${packages.join("\n")}\n${script.includes("systemd-detect-virt") ? DETECTION : ""}`, stderr: "" };
        }
        if (opts.refuse && script.includes(`stage/${opts.refuse}`) && script.includes(`rollback/${opts.refuse}`)) {
          return { code: 3, stdout: "CHECK postfix\npostfix: fatal: /etc/postfix/main.cf, line 12: missing '=' after attribute name: \"smtpd_tls_cert_file /x\"\n", stderr: "" };
        }
        return { code: 0, stdout: "", stderr: "" };
      },
      async must(script: string, what: string, watch: Watch = {}) {
        const r = await this.run(script, watch);
        if (r.code !== 0) throw new Error(`${target.name}: ${what} failed (exit ${r.code}): ${r.stderr || r.stdout}`);
        return r.stdout;
      },
      // The host's lock: free, taken at once.
      async hold(_command: string, onLine: (line: string) => void) {
        let end!: () => void;
        const closed = new Promise<{ code: number; stderr: string }>((r) => (end = () => r({ code: 0, stderr: "" })));
        setImmediate(() => onLine("podkit:locked"));
        return { write() {}, end, closed };
      },
      close() {},
    };
    return session as unknown as Session;
  };
}

/** Streams that keep what apply writes: a log file, or a terminal of 120 x 30. */
function capture(tty: boolean, open: ConvergeIO["open"], env: NodeJS.ProcessEnv = { TERM: "xterm-256color" }) {
  const out: string[] = [];
  const err: string[] = [];
  const io: ConvergeIO = {
    out: { write: (t: string) => out.push(t), isTTY: tty, columns: 120, rows: 30 },
    err: { write: (t: string) => err.push(t), isTTY: tty, columns: 120, rows: 30 },
    open, env,
  };
  return { io, out: () => out.join(""), err: () => err.join(""), writes: () => [...out] };
}

// Any C0 control character but the newline, and DEL: what a log must not hold.
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;

test("a cold apply written to a log has no control characters, names pod and host on every line and summarises each role in one line", async () => {
  const c = capture(false, freshHost(), { TERM: "xterm-256color" });
  assert.equal(await runConverge([stackFile()], "", false, TEST_PROVIDERS, c.io), 0);
  const text = c.out();
  assert.doesNotMatch(text, CONTROL, "no escape codes, no carriage returns, no tabs");
  const lines = text.split("\n").filter((l) => l);
  const tableAt = lines.findIndex((l) => l.startsWith("HOST "));
  assert.ok(tableAt > 0, text);
  for (const line of lines.slice(0, tableAt)) assert.match(line, /^hackspace\/box[: ]/, `a line that does not say whose it is: ${line}`);
  // What scripts/bench.ts reads.
  assert.match(text, /^hackspace\/box: installed \d+ package\(s\) in [\d.]+s$/m);
  for (const role of ["base", "tls", "web", "mail", "xmpp"]) {
    const said = lines.filter((l) => l.startsWith(`hackspace/box ${role}: `));
    assert.equal(said.length, 1, `one line for ${role}, not one per file:\n${said.join("\n")}`);
  }
  assert.match(text, /^hackspace\/box mail: \d+ files, (\d+ dirs?, )?\d+ packages, (\d+ packages removed, )?started [a-z0-9@. -]*postfix, ran \d+ steps \(\d+\.\ds\)$/m);
  assert.match(lines.at(-1)!, /^\d+ change\(s\) on 1 host\(s\) in [\d.]+s$/);
});

test("with --verbose each changed file and package is listed under its role's line, still named by pod and host", async () => {
  const c = capture(false, freshHost());
  assert.equal(await runConverge([stackFile(), "--verbose"], "", false, TEST_PROVIDERS, c.io), 0);
  assert.match(c.out(), /^hackspace\/box mail: {3}\/etc\/postfix\/main\.cf$/m);
  assert.match(c.out(), /^hackspace\/box mail: {3}\+pkg postfix$/m);
});

test("the closing table has a row per role of each host with its changes, time and result", async () => {
  const c = capture(false, freshHost());
  await runConverge([stackFile()], "", false, TEST_PROVIDERS, c.io);
  const lines = c.out().split("\n");
  const at = lines.findIndex((l) => l.startsWith("HOST "));
  assert.match(lines[at], /^HOST +ROLE +CHANGES +TIME +RESULT$/);
  const rows = lines.slice(at + 1, at + 6);
  assert.deepEqual(rows.map((r) => r.split(/ +/)[1]), ["base", "tls", "web", "mail", "xmpp"]);
  for (const r of rows) assert.match(r, /^hackspace\/box +[a-z]+ +\d+ +\d+\.\ds +changed$/);
  // Columns line up: every row as wide as the header up to its last column.
  assert.equal(new Set(rows.map((r) => r.indexOf("changed"))).size, 1, rows.join("\n"));
});

test("two pods whose hosts share a name are told apart on every line and in the table", async () => {
  const c = capture(false, freshHost());
  assert.equal(await runConverge([stackFile("lab-a"), stackFile("lab-b")], "", false, TEST_PROVIDERS, c.io), 0);
  const text = c.out();
  for (const pod of ["lab-a", "lab-b"]) {
    assert.match(text, new RegExp(`^${pod}/box mail: \\d+ files`, "m"));
    assert.match(text, new RegExp(`^${pod}/box +xmpp +\\d+`, "m"));
  }
  assert.doesNotMatch(text, /^box /m);
});

test("a failing apply's last lines name the host, the role, what failed, the checker's own message and the next command", async () => {
  const file = stackFile();
  const c = capture(false, freshHost({ refuse: "mail" }));
  assert.equal(await runConverge([file], "", false, TEST_PROVIDERS, c.io), 1);
  const text = c.out();
  assert.doesNotMatch(text, CONTROL);
  const last = text.trimEnd().split("\n").slice(-4);
  assert.match(last[0], /^FAILED hackspace\/box mail: postfix refused the new configuration \(\/etc\/postfix\/main\.cf, \/etc\/postfix\/master\.cf, [^,]+ and \d+ more\); nothing was changed$/);
  assert.match(text, /^hackspace\/box mail: FAILED: postfix refused .*\(the message and what to do are at the end\)$/m, "said where it happened, too");
  assert.equal(last[1], "    postfix: fatal: /etc/postfix/main.cf, line 12: missing '=' after attribute name: \"smtpd_tls_cert_file /x\"");
  assert.equal(last[2], `  next: podkit diff ${file} --host box --role mail   (the refused change; fix the stack, then podkit apply ${file} --host box)`);
  assert.match(last[3], /^FAILED on 1 host\(s\); \d+ change\(s\) on 1 host\(s\)/, "the roles before it did change the host");
  // In the table: the roles before it applied, mail failed, the one after it not run.
  assert.match(text, /^hackspace\/box +web +\d+ +[\d.]+s +changed$/m);
  assert.match(text, /^hackspace\/box +mail +- +- +FAILED$/m);
  assert.match(text, /^hackspace\/box +xmpp +- +- +not run$/m);
});

test("--json keeps its report on stdout alone, in the same shape, with the lines on stderr", async () => {
  const c = capture(false, freshHost());
  assert.equal(await runConverge([stackFile(), "--json"], "", false, TEST_PROVIDERS, c.io), 0);
  const report = JSON.parse(c.out());
  assert.deepEqual(Object.keys(report), ["changes", "seconds", "hosts", "errors"]);
  assert.deepEqual(Object.keys(report.hosts[0]), ["host", "profile", "ms", "roles"]);
  const mail = report.hosts[0].roles.find((r: { role: string }) => r.role === "mail");
  assert.ok(mail.items.includes("/etc/postfix/main.cf") && mail.items.includes("+pkg postfix"), "the full list is in --json");
  assert.equal(report.changes, report.hosts[0].roles.reduce((n: number, r: { changes: number }) => n + r.changes, 0));
  assert.match(c.err(), /^hackspace\/box mail: /m);
  assert.doesNotMatch(c.err(), CONTROL);
});

test("on a terminal the installation is one live line per host with apt's count and package, gone when done", async () => {
  const c = capture(true, freshHost({ aptPauseMs: 250 }), { TERM: "xterm-256color", NO_COLOR: "1" });
  assert.equal(await runConverge([stackFile()], "", false, TEST_PROVIDERS, c.io), 0);
  assert.doesNotMatch(c.out(), /\x1b\[[\d;]*m/, "NO_COLOR: no colour");
  // What a person sees: each write played into a terminal of the capture's size, the window read after it.
  const screen = new Screen(120, 30);
  const windows = await replay(screen, c.writes());
  const live = (rows: string[]) => rows.filter((r) => LIVE.test(r));
  for (const rows of windows) assert.ok(live(rows).length <= 1, `one live line for the one host, redrawn, not a scroll:\n${rows.join("\n")}`);
  // apt's lines come faster than the ten redraws a second: the one shown is the latest at the redraw.
  assert.ok(windows.some((rows) => rows.some((r) => /^hackspace\/box: installing [68]0%, [12] of 2 package\(s\) configured, now postfix$/.test(r))),
    "the live line as apt reported it");
  assert.ok(windows.some((rows) => rows.some((r) => /^hackspace\/box: \d of 7 role\(s\) done, now (web|mail|xmpp|turn)$/.test(r))), "then which role it is at");
  // Once done, no live line is left: what stays is the lines a log of the same apply holds, in order, the table closing them.
  const stayed = screen.all();
  assert.deepEqual(live(stayed), []);
  const log = capture(false, freshHost({ aptPauseMs: 250 }));
  assert.equal(await runConverge([stackFile()], "", false, TEST_PROVIDERS, log.io), 0);
  assert.deepEqual(stayed.map(sameBut), log.out().trimEnd().split("\n").map(sameBut));
  assert.match(stayed.at(-2)!, /^hackspace\/box +[a-z]+ +\d+ +[\d.]+s +changed$/, "the table's last row");
  assert.match(stayed.at(-1)!, /^\d+ change\(s\) on 1 host\(s\) in [\d.]+s$/);
});

test("on a terminal without NO_COLOR the table header and a failure are in colour", async () => {
  const c = capture(true, freshHost({ refuse: "mail" }));
  await runConverge([stackFile()], "", false, TEST_PROVIDERS, c.io);
  assert.match(c.out(), /\x1b\[31mFAILED hackspace\/box mail: /);
  assert.match(c.out(), /\x1b\[1mHOST +ROLE/);
});

/** A host's live line as podkit draws it (lib/cli/converge-run.ts). */
const LIVE = /^hackspace\/box: (connecting|gathering facts|waiting|refreshing|downloading|installing|\d+ of \d+ role)/;

/** A line with its times (0.3s) and the spaces that align them made alike: two runs of one apply compare. */
const sameBut = (line: string) => line.replace(/\d+(\.\d+)?s\b/g, "Ns").replace(/ +/g, " ").trimEnd();

test("a host another run holds: apply says who while it waits, then exits 75 naming the holder and what to run next", async () => {
  const holder = "machine=laptop\tuser=alice\tstarted=2026-12-02T12:01:02.000Z\tversion=0.1.0\tpid=4242\twhat=apply";
  const fresh = freshHost();
  const held = async (target: HostTarget): Promise<Session> => {
    const session = await fresh(target);
    return Object.assign(session, {
      // The lock script as it answers when the host stays held past --lock-wait.
      async hold(_command: string, onLine: (line: string) => void) {
        let end!: () => void;
        const closed = new Promise<{ code: number; stderr: string }>((r) => (end = () => r({ code: 75, stderr: "" })));
        setImmediate(() => {
          onLine(`podkit:lock-busy ${holder}`);
          onLine(`podkit:lock-timeout ${holder}`);
          end();
        });
        return { write() {}, end() {}, closed };
      },
    });
  };
  const c = capture(false, held);
  assert.equal(await runConverge([stackFile(), "--lock-wait", "5"], "", false, TEST_PROVIDERS, c.io), 75);
  const text = c.out();
  assert.match(text, /^hackspace\/box: waiting for the host, which another run holds: podkit apply by alice on laptop \(pid 4242, podkit 0\.1\.0\), started 12:01:02 UTC, .* \(up to 5s\)$/m);
  assert.match(text, /^FAILED hackspace\/box lock: another podkit run holds the host$/m);
  assert.match(text, /^ {4}another run holds the host after 5s of waiting: podkit apply by alice on laptop/m);
  assert.match(text, /^ {2}next: podkit apply \S+hackspace\.yaml --host box {3}\(once that run has finished\)$/m);
});
