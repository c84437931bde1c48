// With mail.relay, Postfix verifies the relay's certificate and name before it
// sends the login or the mail. Pod b is pointed at a relay named
// relay.lab.test, which is host a's address: a's submission port answers with
// a certificate the lab CA signed for mx.a.test, trusted but not for that name.
// b must not use it: the message stays queued with the reason in the log and in
// the queue, the relay never sees an AUTH, and once the relay is gone from the
// stack the same message is delivered — nothing was lost.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { LAB } from "../../lib/lab/config";
import { removeLabRecord, setLabRecord } from "../../lib/lab/dns";
import { onHost, REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

const SECRETS = path.join(REPO, "stacks/lab-b.secrets.yaml");
const variant = path.join(mkdtempSync(path.join(tmpdir(), "podkit-relay-")), "lab-b.yaml");
const RELAY = "relay.lab.test";

let pods: Pods;
let since: number;

before(async () => {
  pods = await ensurePods();
  await setLabRecord(LAB.labZone, "relay", "A", pods.a.ip);
  const original = readFileSync(path.join(REPO, "stacks/lab-b.yaml"), "utf8");
  // The login is never sent, so any of b's secrets will do as its password.
  const edited = original.replace("mail:\n  host: mx\n",
    `mail:\n  host: mx\n  relay:\n    host: ${RELAY}\n    port: 587\n    username: bob\n    password: { secret: bob-password }\n`);
  assert.notEqual(edited, original);
  writeFileSync(variant, edited);
  since = Math.floor(Date.now() / 1000) - 1;
  const r = await apply(variant, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, undefined, r.stderr);
});

after(async () => {
  // Pod b as its stack file says, for the tests that follow.
  await apply("stacks/lab-b.yaml");
  await removeLabRecord(LAB.labZone, "relay", "A").catch(() => undefined);
});

/** b's lines from one Postfix program since the test began, polled until `want` matches (up to 60 s). */
async function journalOfB(program: string, want: RegExp): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await onHost(pods.lab, "b", `journalctl SYSLOG_IDENTIFIER=postfix/${program} --since @${since} --no-pager -o cat`);
    if (want.test(r.stdout) || Date.now() > deadline) return r.stdout;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

test("a relay whose certificate does not name it is not used: the mail stays queued, the log and the queue say why, and it arrives once the relay is gone", async (t) => {
  const subject = token("relay-unverified");
  const sent = await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "alice@a.test", subject, text: "through a relay that cannot prove its name" });
  assert.match(sent.response, /^250 /);
  const queueId = sent.response.match(/queued as ([0-9A-F]+)/)?.[1];
  assert.ok(queueId, sent.response);

  const deferred = new RegExp(`^${queueId}: to=<alice@a\\.test>, relay=relay\\.lab\\.test\\[${pods.a.ip.replace(/\./g, "\\.")}\\]:587, .*dsn=4\\.7\\.5, status=deferred \\(Server certificate not verified\\)$`, "m");
  const smtp = await journalOfB("smtp", deferred);
  t.diagnostic(smtp.split("\n").filter((l) => l.includes(RELAY)).join("\n"));
  assert.match(smtp, deferred, smtp);
  // Trusted (the lab CA signed it) but for another name.
  assert.match(smtp, /server certificate verification failed for relay\.lab\.test\[[\d.]+\]:587: num=62:hostname mismatch/, smtp);

  const queue = await onHost(pods.lab, "b", "postqueue -j");
  const entry = queue.stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.queue_id === queueId);
  assert.ok(entry, `${queueId} is still in b's queue:\n${queue.stdout}`);
  assert.equal(entry.recipients[0].delay_reason, "Server certificate not verified");

  // The relay saw TLS and a goodbye, never a login: the password stayed on b.
  const a = await onHost(pods.lab, "a", `journalctl SYSLOG_IDENTIFIER=postfix/submission/smtpd --since @${since} --no-pager -o cat | grep -F 'disconnect from' | grep -F '[${pods.b.ip}]' || true`);
  assert.ok(a.stdout.trim(), "b connected to the relay's port");
  assert.doesNotMatch(a.stdout, /\bauth=/, a.stdout);

  // Without the relay, the queued message goes straight to a's MX.
  const restored = await apply("stacks/lab-b.yaml");
  assert.equal(restored.report.exitCode, undefined, restored.stderr);
  await onHost(pods.lab, "b", "postqueue -f");
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject, 60_000);
});
