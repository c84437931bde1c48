// What `podkit check` prints and returns: one line per check, grouped in a
// fixed order; every warn and fail followed by what it means and the fix; the
// total time last; --json with the shape docs/check.md documents; exit 0 all
// ok, 1 on a fail, a warn failing only with --strict; usage errors 64.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { buildReport, exitCode, formatReport } from "../../lib/check/report";
import { type CheckResult, ok, problem, skip } from "../../lib/check/result";

const ROOT = join(__dirname, "..", "..");
const results: CheckResult[] = [
  problem("fail", "pod", "pod/service/dovecot.service", "dovecot.service is inactive", "members cannot read mail", "systemctl start dovecot.service", "mx"),
  ok("dns", "dns/mx/a.test", "a.test MX 10 mx.a.test."),
  problem("warn", "dns", "dns/txt/_smtp._tls.a.test", "_smtp._tls.a.test TXT v=TLSRPTv1; rua=mailto:postmaster@a.test is missing", "senders do not report TLS failures", "publish in the zone file: _smtp._tls.a.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@a.test\""),
  skip("reputation", "reputation/dnsbl", "no blocklists"),
  ok("identity", "identity/ptr/mx/10.77.0.11", "10.77.0.11 is mx.a.test (PTR, forward-confirmed)", "mx"),
];
const report = (rs: CheckResult[], strict = false) => buildReport({ pod: "lab-a", stack: "stacks/lab-a.yaml", hosts: ["mx"], startedAt: new Date("2026-01-01T00:00:00Z"), seconds: 3.14, results: rs, strict });

test("exit 0 when all is ok, 1 on any fail, and a warn fails only with --strict", () => {
  const oks = results.filter((r) => r.status === "ok" || r.status === "skip");
  const warns = results.filter((r) => r.status !== "fail");
  assert.equal(exitCode(oks, false), 0);
  assert.equal(exitCode(oks, true), 0);
  assert.equal(exitCode(warns, false), 0);
  assert.equal(exitCode(warns, true), 1);
  assert.equal(exitCode(results, false), 1);
});

test("lines are grouped in a fixed order, one per check, with means and fix under each warn and fail, and the total time last", () => {
  const lines = formatReport(report(results));
  assert.deepEqual(lines, [
    "dns",
    "  ok    a.test MX 10 mx.a.test.",
    "  warn  _smtp._tls.a.test TXT v=TLSRPTv1; rua=mailto:postmaster@a.test is missing",
    "        means: senders do not report TLS failures",
    "        fix:   publish in the zone file: _smtp._tls.a.test. 300 IN TXT \"v=TLSRPTv1; rua=mailto:postmaster@a.test\"",
    "identity",
    "  ok    10.77.0.11 is mx.a.test (PTR, forward-confirmed)",
    "reputation",
    "  skip  no blocklists",
    "pod",
    "  FAIL  dovecot.service is inactive",
    "        means: members cannot read mail",
    "        fix:   systemctl start dovecot.service",
    "lab-a: FAILED: 2 ok, 1 warn, 1 fail, 1 skipped in 3.1s",
  ]);
  assert.equal(formatReport(report(results.filter((r) => r.status === "ok"))).at(-1), "lab-a: all ok: 2 ok, 0 warn, 0 fail in 3.1s");
  // Several hosts: host-bound lines say whose they are.
  assert.ok(formatReport(report(results), { hostNames: true }).includes("  FAIL  mx: dovecot.service is inactive"));
  // No control character unless painted (a log, a pipe, --json's stderr).
  assert.ok(formatReport(report(results)).every((l) => !/\x1b/.test(l)));
});

test("the JSON report has the documented shape: pod, stack, hosts, time, status, counts, exitCode and every check", () => {
  const r = JSON.parse(JSON.stringify(report(results)));
  assert.deepEqual(Object.keys(r), ["pod", "stack", "hosts", "startedAt", "seconds", "status", "counts", "exitCode", "checks"]);
  assert.equal(r.status, "fail");
  assert.deepEqual(r.counts, { ok: 2, warn: 1, fail: 1, skip: 1 });
  assert.equal(r.exitCode, 1);
  assert.equal(r.seconds, 3.1);
  assert.deepEqual(r.checks.map((c: CheckResult) => c.group), ["dns", "dns", "identity", "reputation", "pod"]);
  for (const c of r.checks) {
    assert.deepEqual(Object.keys(c).filter((k) => !["host", "meaning", "fix"].includes(k)), ["group", "id", "status", "summary"]);
    if (c.status === "warn" || c.status === "fail") assert.ok(c.meaning && c.fix, c.id);
  }
  assert.equal(report(results.filter((x) => x.status !== "fail")).status, "warn");
});

test("usage errors exit 64: no stack, an unknown option, a bad threshold, an unknown host", () => {
  const podkit = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin", "podkit.js"), "check", ...args], { cwd: ROOT, encoding: "utf8" });
  assert.equal(podkit().status, 64);
  assert.equal(podkit("stacks/hackspace.yaml", "--bogus").status, 64);
  assert.equal(podkit("stacks/hackspace.yaml", "--cert-days", "soon").status, 64);
  const unknown = podkit("stacks/hackspace.yaml", "--host", "nope");
  assert.equal(unknown.status, 64);
  assert.match(unknown.stderr, /--host nope: the stack's hosts are box/);
  assert.match(execFileSync(process.execPath, [join(ROOT, "bin", "podkit.js"), "check", "--help"], { cwd: ROOT, encoding: "utf8" }), /Exit: 0 all ok, 1 a check failed/);
});
