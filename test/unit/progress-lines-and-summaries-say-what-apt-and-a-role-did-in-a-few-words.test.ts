// The words podkit prints while and after it works: apt's status lines become
// a count and a package name, a role's change list a few words, an error the
// step that failed and the command to run next, and nothing moves or has
// colour where it must not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConvergeError } from "../../lib/converge/apply";
import { aptProgress, describePackageProgress, type PackageProgress } from "../../lib/converge/apt-progress";
import { APT_UPDATING, installScript } from "../../lib/converge/scripts";
import { closingTable, describeFailure, failureLines, summarizeChanges } from "../../lib/cli/converge-report";
import { cut, Terminal } from "../../lib/cli/terminal";
import { HostKeyMismatch } from "../../lib/ssh/connect";
import { replay, Screen } from "./screen";

test("the install script asks apt for its status lines and prints nothing else", () => {
  const script = installScript(["postfix"], []);
  assert.match(script, /apt-get install .*-o APT::Status-Fd=3 'postfix' 3>&1 >\/dev\/null/);
  assert.ok(script.includes(`echo ${APT_UPDATING}`), "says when it refreshes the package lists");
});

test("apt's status lines, cut anywhere, become the phase, apt's percentage, the count and the package", () => {
  const seen: PackageProgress[] = [];
  const feed = aptProgress((p) => seen.push(p));
  const text = `${APT_UPDATING}\ndlstatus:1:0.0000:Retrieving file 1 of 3\ndlstatus:3:66.6:Retrieving file 3 of 3\npmstatus:dpkg-exec:0:Running dpkg\n`
    + "pmstatus:libc-bin:amd64:20.0000:Configuring libc-bin (amd64)\npmstatus:postfix:amd64:57.1429:Unpacking postfix (amd64)\nnoise from a maintainer script\n";
  for (let i = 0; i < text.length; i += 7) feed(text.slice(i, i + 7));
  assert.deepEqual(seen.map(describePackageProgress), [
    "refreshing package lists",
    "downloading 0%, 0 of 3 package(s)",
    "downloading 67%, 2 of 3 package(s)",
    "installing 20%, 1 of 3 package(s) configured, now libc-bin",
    "installing 57%, 1 of 3 package(s) configured, now postfix",
  ]);
});

test("a role's changes read as a few words: files, dirs, packages, units started, restarted or reloaded, steps", () => {
  assert.equal(summarizeChanges([
    "+pkg postfix", "+pkg dovecot-imapd", "/etc/postfix/main.cf", "/etc/postfix/master.cf", "/var/mail/vhosts/", "-/etc/nginx/sites-enabled/default",
    "/etc/dovecot/users (mode)", "postmap virtual", "enable postfix.service", "restart postfix.service", "restart opendkim.service", "reload-or-restart dovecot.service",
  ]), "3 files, 1 dir, 1 file removed, 2 packages, started postfix, restarted opendkim, reloaded dovecot, ran postmap virtual");
  assert.equal(summarizeChanges(["a", "b", "c"]), "ran 3 steps");
});

test("the closing table aligns its columns and has a header", () => {
  assert.deepEqual(closingTable([
    { who: "lab-a/mx", role: "base", changes: 20, ms: 1234, result: "changed" },
    { who: "lab-b/mx", role: "mail", result: "FAILED" },
  ]), [
    "HOST      ROLE  CHANGES  TIME  RESULT",
    "lab-a/mx  base       20  1.2s  changed",
    "lab-b/mx  mail        -     -  FAILED",
  ]);
});

test("each kind of failure names host, step, what failed, the message and a next command", () => {
  const ctx = { pod: "lab-a", stackFile: "stacks/lab-a.yaml", host: "mx" };
  const apt = describeFailure(new Error("mx: installing postfix dovecot-imapd failed (exit 100): E: Unable to locate package dovecot-imapd"), ctx);
  assert.deepEqual(apt, { who: "lab-a/mx", role: "packages", what: "installing postfix dovecot-imapd failed (exit 100)", message: "E: Unable to locate package dovecot-imapd", next: "podkit apply stacks/lab-a.yaml --host mx" });
  const health = describeFailure(new ConvergeError("mx", "xmpp", "rolled back /etc/prosody/prosody.cfg.lua: prosody.service: port 5222 does not answer"), ctx);
  assert.equal(health.role, "xmpp");
  assert.equal(health.what, "rolled back /etc/prosody/prosody.cfg.lua");
  assert.equal(health.message, "prosody.service: port 5222 does not answer");
  const pin = describeFailure(new HostKeyMismatch("mx (10.77.0.11:22): the host key is SHA256:x, pinned SHA256:y"), { ...ctx, lab: true });
  assert.equal(pin.role, "connect");
  assert.equal(pin.next, "podkit lab status");
  assert.deepEqual(failureLines([apt]), [
    "FAILED lab-a/mx packages: installing postfix dovecot-imapd failed (exit 100)",
    "    E: Unable to locate package dovecot-imapd",
    "  next: podkit apply stacks/lab-a.yaml --host mx",
  ]);
});

test("off a terminal nothing is redrawn and nothing coloured; on one, NO_COLOR keeps the live line and drops the colour", async () => {
  // A log, a pipe, and a terminal that cannot move the cursor (TERM=dumb): the lines that stay, plain.
  for (const [isTTY, TERM] of [[false, "xterm"], [true, "dumb"]] as const) {
    const written: string[] = [];
    const log = new Terminal({ write: (t: string) => written.push(t), isTTY, columns: 40 }, { env: { TERM } });
    assert.equal(log.live, false);
    log.setStatus("a", "lab-a/mx: installing 10%, 1 of 2 package(s) configured, now postfix");
    log.line(log.paint("FAILED", "red"));
    log.line("two\nlines");
    await new Promise((r) => setTimeout(r, 150));
    log.finish();
    assert.deepEqual(written, ["FAILED\n", "two\nlines\n"], `isTTY ${isTTY}, TERM=${TERM}`);
    assert.doesNotMatch(written.join(""), /[\x00-\x09\x0b-\x1f\x7f]/, "not one control character");
  }
  const written: string[] = [];
  const tty = new Terminal({ write: (t: string) => written.push(t), isTTY: true, columns: 80, rows: 24 }, { env: { TERM: "xterm", NO_COLOR: "1" } });
  assert.equal(tty.live, true);
  tty.setStatus("a", "lab-a/mx: connecting");
  tty.line(tty.paint("FAILED", "red"));
  tty.finish();
  const screen = new Screen(80, 24);
  await replay(screen, written);
  assert.deepEqual(screen.all(), ["FAILED"], "the live line came and went; the line stays, plain");
  assert.match(written.join(""), /lab-a\/mx: connecting/);
  assert.doesNotMatch(written.join(""), /\x1b\[[\d;]*m/, "NO_COLOR: no colour code");
  assert.equal(new Terminal({ write: () => undefined, isTTY: true }, { env: { TERM: "xterm" } }).paint("x", "red"), "\x1b[31mx\x1b[39m");
});

test("on a terminal a live line wider than the window stays one row, cut with an ellipsis, its colour ended; finish leaves only what stays", async () => {
  const written: string[] = [];
  const term = new Terminal({ write: (t: string) => written.push(t), isTTY: true, columns: 40, rows: 10 }, { env: { TERM: "xterm" } });
  const screen = new Screen(40, 10);
  term.line("lab: up");
  term.setStatus("a", `lab-a/mx: ${term.paint("installing 60%, 1 of 2 package(s) configured, now postfix", "yellow")}`);
  term.setStatus("b", "lab-b/mx: gathering facts");
  term.line("lab-a/mx: Debian 12 (bookworm), vm (kvm), IPv4 and IPv6 (a line that stays, wider than the window)");
  const rows = (await replay(screen, written.splice(0))).at(-1)!;
  const shown = rows.join("\n").trimEnd().split("\n");
  assert.deepEqual(shown.slice(-2), ["lab-a/mx: installing 60%, 1 of 2 packa…", "lab-b/mx: gathering facts"], "one row per host, below the lines that stay");
  assert.equal(shown.length, 6, `the line that stays wraps (three rows), the live ones do not:\n${shown.join("\n")}`);
  term.finish();
  await replay(screen, written.splice(0));
  assert.deepEqual(screen.all(), ["lab: up", "lab-a/mx: Debian 12 (bookworm), vm (kvm), IPv4 and IPv6 (a line that stays, wider than the window)"]);
  assert.equal(cut(term.paint("installing 60%, now postfix", "yellow"), 12), "\x1b[33minstalling …\x1b[39m", "the colour is closed after the cut");
});
