// `podkit check` against a pod where nothing answers (its address is this
// machine's loopback with no daemons on the pod's ports, its DNS servers a
// port nobody serves, no SSH): every group still reports, within the short
// timeouts, and every failure says what it means and what to do. Nothing
// leaves this machine.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { buildReport, formatReport } from "../../lib/check/report";
import { runChecks } from "../../lib/check/run";
import { GROUPS } from "../../lib/check/result";
import { labProvider } from "../../lib/lab/provider";
import type { HostProvider } from "../../lib/stack/host-provider";
import { loadPod } from "../../lib/stack/pod";
import { RECORDED_LAB } from "./host-profiles";

const silent: HostProvider = {
  ...labProvider(RECORDED_LAB),
  locate: () => ({ addresses: { ipv4: "127.0.0.1" } }),
  target: () => "no SSH in this test",
  checkEnvironment: () => ({ resolvers: ["127.0.0.1:9"], authoritative: ["127.0.0.1:9"] }),
};

test("every group reports on a pod where nothing answers, in seconds, each failure with its meaning and fix", async () => {
  const pod = loadPod(join(__dirname, "..", "..", "stacks", "lab-a.yaml"), { providers: { lab: silent }, secretsFile: "/nonexistent/secrets.yaml" });
  const started = Date.now();
  const seen = new Set<string>();
  const results = await runChecks(pod, { file: "stacks/lab-a.yaml", hosts: ["mx"], certDays: 14, onProgress: (g) => seen.add(g) });
  const seconds = (Date.now() - started) / 1000;
  assert.ok(seconds < 30, `took ${seconds}s`);
  assert.deepEqual([...seen].sort(), [...GROUPS].sort(), "every group showed progress");
  for (const g of ["dns", "identity", "reachability", "pod"]) assert.ok(results.some((r) => r.group === g && r.status === "fail"), `${g} fails`);
  assert.ok(!results.some((r) => r.id.endsWith("/unfinished")), "no group ran out of time");
  for (const r of results.filter((x) => x.status === "warn" || x.status === "fail")) assert.ok(r.meaning && r.fix, `${r.id} has meaning and fix`);
  assert.ok(results.some((r) => r.id === "pod/ssh" && /no SSH in this test/.test(r.summary)));
  assert.ok(results.some((r) => r.id === "reach/mx/127.0.0.1/25" && r.status === "fail"));
  const report = buildReport({ pod: "lab-a", stack: "stacks/lab-a.yaml", hosts: ["mx"], startedAt: new Date(started), seconds, results, strict: false });
  assert.equal(report.exitCode, 1);
  assert.match(formatReport(report).at(-1)!, /^lab-a: FAILED: \d+ ok, \d+ warn, \d+ fail.* in \d+\.\ds$/);
});
