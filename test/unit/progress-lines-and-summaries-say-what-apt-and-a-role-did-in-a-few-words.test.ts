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
import { Terminal } from "../../lib/cli/terminal";
import { HostKeyMismatch } from "../../lib/ssh/connect";

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

test("off a terminal nothing is redrawn and nothing coloured; on one, NO_COLOR keeps the live line and drops the colour", () => {
  const written: string[] = [];
  const log = new Terminal({ write: (t: string) => written.push(t), isTTY: false }, { env: { TERM: "xterm" } });
  log.setStatus("a", "installing");
  log.line(log.paint("FAILED", "red"));
  log.finish();
  assert.deepEqual(written, ["FAILED\n"]);
  const tty = new Terminal({ write: () => undefined, isTTY: true }, { env: { TERM: "xterm", NO_COLOR: "1" } });
  assert.equal(tty.live, true);
  assert.equal(tty.paint("FAILED", "red"), "FAILED");
  assert.equal(new Terminal({ write: () => undefined, isTTY: true }, { env: { TERM: "dumb" } }).live, false, "TERM=dumb cannot move the cursor");
  assert.equal(new Terminal({ write: () => undefined, isTTY: true }, { env: { TERM: "xterm" } }).paint("x", "red"), "\x1b[31mx\x1b[39m");
});
