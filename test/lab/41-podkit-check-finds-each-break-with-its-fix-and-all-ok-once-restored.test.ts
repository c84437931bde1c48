// `podkit check` on lab pod a.test: all ok on the healthy pod, with the total
// time; then one thing broken at a time on purpose, each reported as exactly
// that failure with its fix and exit 1, and all ok again once it is put back
// (issue 14, must-show 1 and 2). Pod b only has to be up: it is the mail server
// pod a tries outgoing port 25 on (the lab's host adapter names it; nothing
// outside the lab is contacted).
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import type { CheckReport } from "../../lib/check/report";
import { quotedTxt } from "../../lib/dns/records";
import { LAB } from "../../lib/lab/config";
import { removeLabRecord, setLabRecord } from "../../lib/lab/dns";
import { must } from "./backups";
import { onHost, podkit } from "./helpers";
import { ensurePods, type Pods } from "./pods";

const STACK = "stacks/lab-a.yaml";
let pods: Pods;
/** The plan's records, to put back exactly what was taken away. */
let planned: { name: string; type: string; value?: string }[];
let t0Diagnostic = "";

before(async () => {
  pods = await ensurePods();
  // Mail earlier tests left undeliverable (to a relay that did not verify, say) would age in
  // the queue and make the healthy pod warn: this test starts from an empty queue.
  const queued = await onHost(pods.lab, "a", "postqueue -j | wc -l; postsuper -d ALL 2>&1 | tail -n1");
  t0Diagnostic = `queue before: ${queued.stdout.trim().replace(/\n/g, "; ")}`;
  // A fresh backup and check: "last successful backup" is part of a healthy pod.
  await must("backup", STACK);
  await must("backup", STACK, "--check");
  const plan = await podkit("plan", STACK, "--json", "--offline");
  assert.equal(plan.code, 0, plan.stderr);
  planned = JSON.parse(plan.stdout).records;
});

after(async () => {
  // Whatever a failed test left broken, put back.
  await onHost(pods.lab, "a", "systemctl start dovecot; postsuper -d ALL hold >/dev/null 2>&1; [ -f /root/last-backup.json.kept ] && mv -f /root/last-backup.json.kept /var/lib/podkit/backup/last-backup.json; true");
  await removeLabRecord(LAB.labZone, blOwner(pods.a.ip), "A").catch(() => undefined);
  await removeLabRecord("a.test", "a.test", "TXT", `"${SECOND_SPF}"`).catch(() => undefined);
  await removeLabRecord(LAB.labZone, "stuck", "MX").catch(() => undefined);
  await removeLabRecord(LAB.labZone, "nowhere", "A").catch(() => undefined);
});

const SECOND_SPF = "v=spf1 include:spf.example.net ~all";
/** An address in the lab subnet that no lab host has: connections to it go nowhere, and never leave the lab. */
const NOWHERE = "10.77.0.250";
const blOwner = (ip: string) => `${ip.split(".").reverse().join(".")}.bl`;

async function check(t: TestContext, ...extra: string[]): Promise<CheckReport> {
  const r = await podkit("check", STACK, "--json", ...extra);
  let report: CheckReport;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`podkit check printed no report (exit ${r.code}):\n${r.stderr}`);
  }
  assert.equal(r.code, report.exitCode, "the exit code is the report's");
  t.diagnostic(`${report.status}: ${JSON.stringify(report.counts)} in ${report.seconds}s`);
  return report;
}

/** The checks that are not ok (skips are fine: they never fail the command). */
const bad = (r: CheckReport) => r.checks.filter((c) => c.status === "warn" || c.status === "fail");
const ids = (r: CheckReport) => bad(r).map((c) => `${c.status} ${c.id}`).sort();

async function allOk(t: TestContext, why: string): Promise<CheckReport> {
  const r = await check(t);
  assert.deepEqual(ids(r), [], `${why}: ${JSON.stringify(bad(r), null, 2)}`);
  assert.equal(r.exitCode, 0);
  return r;
}

test("the healthy pod is all ok in a few seconds, every group asked, and the human output ends with the total time", async (t) => {
  t.diagnostic(t0Diagnostic);
  const r = await allOk(t, "healthy pod");
  for (const g of ["dns", "identity", "reachability", "reputation", "pod"]) assert.ok(r.checks.some((c) => c.group === g && c.status === "ok"), `group ${g} has ok checks`);
  for (const port of [25, 465, 587, 993, 5222, 5269, 443]) assert.ok(r.checks.some((c) => c.id.startsWith(`reach/mx/${pods.a.ip}/${port}`) && c.status === "ok"), `port ${port}`);
  assert.ok(r.checks.some((c) => c.id === "dns/dkim-pod/a.test" && c.status === "ok"), "the DKIM key in DNS is the pod's");
  assert.ok(r.checks.some((c) => c.id === "dns/mta-sts-policy/a.test" && c.status === "ok"), "the MTA-STS policy served matches");
  assert.ok(r.checks.some((c) => c.id === `identity/banner/mx/${pods.a.ip}` && c.status === "ok"));
  assert.ok(r.checks.some((c) => c.id === `pod/outbound/${pods.b.ip}` && c.status === "ok"), "outgoing port 25 tried on pod b");
  assert.ok(r.seconds < 30, `took ${r.seconds}s`);
  const human = await podkit("check", STACK);
  assert.equal(human.code, 0, human.stdout + human.stderr);
  assert.match(human.stdout, /^lab-a: all ok: \d+ ok, 0 warn, 0 fail(, \d+ skipped)? in \d+\.\ds$/m);
  assert.doesNotMatch(human.stdout, /\x1b/, "not a terminal: plain lines");
});

test("a DNS record removed from the zone fails as missing, with the record to publish", async (t) => {
  const dmarc = planned.find((p) => p.name === "_dmarc.a.test" && p.type === "TXT")!;
  await removeLabRecord("a.test", "_dmarc.a.test", "TXT");
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), ["fail dns/txt/_dmarc.a.test"]);
    assert.equal(r.exitCode, 1);
    assert.match(bad(r)[0].fix!, new RegExp(`^publish in the zone file .*: _dmarc\\.a\\.test\\. 300 IN TXT "v=DMARC1; p=quarantine;`));
  } finally {
    await setLabRecord("a.test", "_dmarc.a.test", "TXT", quotedTxt(dmarc.value!), 300);
  }
  await allOk(t, "DMARC put back");
});

test("a second SPF record fails as a second SPF record, with the record to remove", async (t) => {
  await setLabRecord("a.test", "a.test", "TXT", `"${SECOND_SPF}"`);
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), [`fail dns/extra/TXT/a.test/${SECOND_SPF}`]);
    assert.match(bad(r)[0].summary, /second SPF record/);
    assert.match(bad(r)[0].fix!, new RegExp(`^remove .*: a\\.test\\. IN TXT "${SECOND_SPF.replace(/\./g, "\\.")}"$`));
  } finally {
    await removeLabRecord("a.test", "a.test", "TXT", `"${SECOND_SPF}"`);
  }
  await allOk(t, "second SPF removed");
});

test("a changed DKIM record fails as different from the plan and as not the key the pod signs with", async (t) => {
  const dkim = planned.find((p) => p.name === "pod._domainkey.a.test" && p.type === "TXT")!;
  await removeLabRecord("a.test", dkim.name, "TXT");
  await setLabRecord("a.test", dkim.name, "TXT", '"v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong"', 300);
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), ["fail dns/dkim-pod/a.test", "fail dns/txt/pod._domainkey.a.test"]);
    assert.ok(bad(r).every((c) => /DKIM/.test(c.meaning!)));
    assert.ok(bad(r).some((c) => /^replace the record .*pod\._domainkey\.a\.test\. 300 IN TXT "v=DKIM1; k=rsa; p=/.test(c.fix!)));
  } finally {
    await removeLabRecord("a.test", dkim.name, "TXT");
    await setLabRecord("a.test", dkim.name, "TXT", quotedTxt(dkim.value!), 300);
  }
  await allOk(t, "DKIM record put back");
});

test("dovecot stopped fails as the service down and IMAPS not answering, with the command that starts it", async (t) => {
  await onHost(pods.lab, "a", "systemctl stop dovecot");
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), ["fail pod/service/dovecot.service", `fail reach/mx/${pods.a.ip}/993`]);
    assert.match(bad(r).find((c) => c.id === "pod/service/dovecot.service")!.fix!, /^systemctl start dovecot\.service/);
  } finally {
    await onHost(pods.lab, "a", "systemctl start dovecot");
  }
  await allOk(t, "dovecot started");
});

test("the pod's address on the lab blocklist fails as listed", async (t) => {
  await setLabRecord(LAB.labZone, blOwner(pods.a.ip), "A", "127.0.0.2");
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), [`fail reputation/dnsbl/bl.lab.test/${pods.a.ip}`]);
    assert.match(bad(r)[0].summary, /listed \(127\.0\.0\.2/);
  } finally {
    await removeLabRecord(LAB.labZone, blOwner(pods.a.ip), "A");
  }
  await allOk(t, "taken off the blocklist");
});

test("a backup whose last success is three days old fails as stale, with the command that backs up now", async (t) => {
  const stale = new Date(Date.now() - 3 * 86_400_000).toISOString().replace(/\.\d+Z$/, "Z");
  const moved = await onHost(pods.lab, "a", `cp -p /var/lib/podkit/backup/last-backup.json /root/last-backup.json.kept && sed -i 's/"time": "[^"]*"/"time": "${stale}"/' /var/lib/podkit/backup/last-backup.json`);
  assert.equal(moved.code, 0, moved.stderr);
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), ["fail pod/backup"]);
    assert.match(bad(r)[0].summary, /last successful backup 7\d h ago/);
    assert.match(bad(r)[0].fix!, /podkit-backup now/);
  } finally {
    await onHost(pods.lab, "a", "mv -f /root/last-backup.json.kept /var/lib/podkit/backup/last-backup.json");
  }
  await allOk(t, "backup status put back");
});

test("certificates nearer their end than the threshold fail on every TLS port and on the pod, with the renewal command", async (t) => {
  // The lab CA's certificates are valid for years: a threshold of ten years makes them all "about to expire".
  const r = await check(t, "--cert-days", "3650");
  assert.equal(r.exitCode, 1);
  assert.ok(bad(r).length > 0);
  for (const c of bad(r)) {
    assert.equal(c.status, "fail", c.id);
    assert.match(c.id, /^(reach\/mx\/|pod\/cert\/)/, `only certificate checks fail: ${c.id}`);
    assert.match(c.summary, /expires/);
    assert.match(c.fix!, /certbot renew/);
  }
  for (const port of [25, 465, 587, 993, 5222, 5269, 443]) assert.ok(bad(r).some((c) => c.id.startsWith(`reach/mx/${pods.a.ip}/${port}`)), `port ${port}`);
  await allOk(t, "default threshold");
});

test("mail held in the queue fails as stuck, with the command that releases it", async (t) => {
  // To a lab domain whose MX is an address nobody answers on (inside the lab subnet): deferred, then held.
  await setLabRecord(LAB.labZone, "stuck", "MX", "10 nowhere.lab.test.");
  await setLabRecord(LAB.labZone, "nowhere", "A", NOWHERE);
  const sent = await onHost(pods.lab, "a", [
    "printf 'Subject: stuck\\n\\nwaits\\n' | /usr/sbin/sendmail -f root@mx.a.test nobody@stuck.lab.test",
    "for i in $(seq 60); do postqueue -j | grep -q nobody@stuck.lab.test && break; sleep 0.5; done",
    "postsuper -h ALL",
    "for i in $(seq 120); do postqueue -j | grep -q '\"queue_name\": *\"hold\"' && exit 0; sleep 0.5; done; exit 1",
  ].join("\n"));
  assert.equal(sent.code, 0, `the message is on hold: ${sent.stdout}${sent.stderr}`);
  try {
    const r = await check(t);
    assert.deepEqual(ids(r), ["fail pod/queue"]);
    assert.match(bad(r)[0].summary, /on hold/);
    assert.match(bad(r)[0].fix!, /postsuper -H ALL/);
  } finally {
    await onHost(pods.lab, "a", "postsuper -d ALL hold");
    await removeLabRecord(LAB.labZone, "stuck", "MX").catch(() => undefined);
    await removeLabRecord(LAB.labZone, "nowhere", "A").catch(() => undefined);
  }
  await allOk(t, "held mail deleted");
});

test("a disk above the threshold fails as nearly full, with the commands that find what fills it", async (t) => {
  const r = await check(t, "--disk-full-at", "1");
  assert.ok(bad(r).length > 0);
  for (const c of bad(r)) {
    assert.match(c.id, /^pod\/disk\//, c.id);
    assert.equal(c.status, "fail");
    assert.match(c.fix!, /du -xh/);
  }
  assert.equal(r.exitCode, 1);
  await allOk(t, "default threshold");
});
