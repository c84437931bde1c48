// A smarthost is trusted with the pod's relay password and all its outgoing
// mail: Postfix verifies its certificate and name first. A relay named by a name
// its certificate does not carry gets neither: the mail stays queued (not lost,
// not bounced) and the log says why; with the stack's relay removed, the queued
// mail goes out directly.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { envName } from "../../lib/stack/secrets";
import { onHost, REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

const SECRETS = path.join(REPO, "stacks/lab-b.secrets.yaml");
let pods: Pods;
let relayed: string;

before(async () => {
  pods = await ensurePods();
  const original = readFileSync(path.join(REPO, "stacks/lab-b.yaml"), "utf8");
  // a.lab.test is host a's lab name: a's certificate names mx.a.test and the pod's domains, not it.
  const edited = original.replace(/^mail:\n  host: mx\n/m, "mail:\n  host: mx\n  relay: { host: a.lab.test, port: 587, username: relay-login, password: { secret: relay-password } }\n");
  assert.notEqual(edited, original, "the lab stack's mail block starts with its host");
  relayed = path.join(mkdtempSync(path.join(tmpdir(), "podkit-relay-")), "lab-b.yaml");
  writeFileSync(relayed, edited);
  process.env[envName("relay-password")] = "the relay must never see this";
});

after(async () => {
  delete process.env[envName("relay-password")];
  await apply("stacks/lab-b.yaml");
});

test("mail for a relay whose certificate does not match its name stays queued, and the log says why", async (t) => {
  const r = await apply(relayed, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const subject = token("relay");
  await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "alice@a.test", subject, text: "through a relay that cannot prove its name" });

  let queue = "";
  let log = "";
  for (let i = 0; i < 40; i++) {
    await new Promise((res) => setTimeout(res, 1000));
    queue = (await onHost(pods.lab, "b", "postqueue -j")).stdout;
    log = (await onHost(pods.lab, "b", "journalctl -u postfix@- -u postfix --since '-2min' -o cat --no-pager")).stdout;
    if (/a\.lab\.test/.test(queue) && /certificate/i.test(queue + log)) break;
  }
  const entry = queue.split("\n").find((l) => l.includes("alice@a.test")) ?? "";
  t.diagnostic(`queue: ${entry}`);
  t.diagnostic(`log: ${log.split("\n").filter((l) => /a\.lab\.test|certificate|verif/i.test(l)).slice(-3).join(" | ")}`);
  assert.ok(entry, "the message is still in b's queue");
  assert.match(JSON.parse(entry).recipients[0].delay_reason, /certificate|verif|name/i, "the queue says the relay's certificate is why");
  assert.doesNotMatch(log, /the relay must never see this/, "the password is in no log");

  // Back to direct delivery: the stack without the relay, then the queue flushed; the mail was kept, not lost.
  const back = await apply("stacks/lab-b.yaml");
  assert.equal(back.report.exitCode, undefined, back.stderr);
  await onHost(pods.lab, "b", "postqueue -f");
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject, 60_000);
});
