// A stack value that makes Postfix's configuration
// invalid is refused by `postfix check` on a staged copy; the live main.cf is
// untouched, Postfix keeps running on it and still accepts mail.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import { onHost, REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

let pods: Pods;
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const stack = path.join(mkdtempSync(path.join(tmpdir(), "podkit-bad-")), "lab-a.yaml");

before(async () => {
  pods = await ensurePods();
  // Valid to the stack schema (any value is allowed there), invalid to Postfix: a size needs bytes.
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  writeFileSync(stack, original.replace("mail:\n  host: mx\n", "mail:\n  host: mx\n  postfix:\n    message_size_limit: 10MB\n"));
});

test("postfix check refuses the new main.cf: apply fails naming file and checker, Postfix runs on and accepts mail", async () => {
  // The master's pid file, not a unit: Debian 12 runs Postfix as postfix@-.service, Debian 13 as postfix.service.
  const before = await onHost(pods.lab, "a", "sha256sum /etc/postfix/main.cf; cat /var/spool/postfix/pid/master.pid | tr -d ' '");
  const r = await apply(stack, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, 1, "a refused config is a failed apply");
  const error = r.report.errors.join("\n");
  assert.match(error, /mx\/mail: postfix check refused the new configuration \(\/etc\/postfix\/main\.cf\); nothing was changed/);
  assert.match(error, /message_size_limit/);

  const after = await onHost(pods.lab, "a", "sha256sum /etc/postfix/main.cf; cat /var/spool/postfix/pid/master.pid | tr -d ' '; postconf -h message_size_limit; postfix status >/dev/null 2>&1 && echo running");
  const [sumBefore, pidBefore] = before.stdout.split("\n");
  const [sumAfter, pidAfter, limit, active] = after.stdout.split("\n");
  assert.equal(sumAfter, sumBefore, "the live main.cf is the old one");
  assert.equal(pidAfter, pidBefore, "Postfix was not restarted");
  assert.equal(limit, "52428800");
  assert.equal(active, "running");

  const subject = token("still-accepts");
  await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "alice@a.test", subject, text: "still there?" });
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject);
});
