// A new server's roles wait for its first boot (cloud-init) to finish, bounded,
// and say so; a finished or cloud-init-less host is not waited for.
import assert from "node:assert/strict";
import { test } from "node:test";
import { STATUS_SCRIPT, waitForFirstBoot } from "../../lib/converge/first-boot";
import type { ExecResult } from "../../lib/converge/ssh";

/** A host whose `cloud-init status` says `status` and whose `--wait` exits `waitCode`. */
function host(status: string, waitCode = 0, waitOutput = "status: done") {
  const scripts: string[] = [];
  return {
    scripts,
    async run(script: string): Promise<ExecResult> {
      scripts.push(script);
      if (script === STATUS_SCRIPT) return { code: 0, stdout: `${status}\n`, stderr: "" };
      return { code: waitCode, stdout: waitOutput, stderr: "" };
    },
  };
}

const said = () => {
  const lines: string[] = [];
  return { lines, say: (m: string) => { lines.push(m); } };
};

test("a host still in its first boot is waited for, bounded, with a message saying what for", async () => {
  const h = host("running");
  const s = said();
  assert.equal(await waitForFirstBoot(h, { host: "mx", timeoutMs: 300_000, say: s.say }), "waited");
  assert.deepEqual(s.lines, ["mx: waiting for cloud-init to finish the first boot (status: running), at most 300 s"]);
  assert.match(h.scripts[1], /^timeout 300 cloud-init status --wait /);
});

test("a host whose first boot is over, or that has no cloud-init, is not waited for", async () => {
  for (const [status, result] of [["done", "done"], ["absent", "absent"], ["disabled", "absent"]] as const) {
    const h = host(status);
    const s = said();
    assert.equal(await waitForFirstBoot(h, { host: "mx", timeoutMs: 300_000, say: s.say }), result);
    assert.deepEqual([s.lines, h.scripts.length], [[], 1], status);
  }
});

test("cloud-init finishing with recoverable errors lets the roles go on", async () => {
  assert.equal(await waitForFirstBoot(host("running", 2), { host: "mx", timeoutMs: 60_000, say: () => {} }), "waited");
});

test("a first boot that does not finish in time, or fails, stops the role with where to look", async () => {
  await assert.rejects(waitForFirstBoot(host("running", 124, "status: running"), { host: "mx", timeoutMs: 60_000, say: () => {} }),
    /^Error: mx: cloud-init was still running after 60 s: status: running\. Look at \/var\/log\/cloud-init-output\.log/);
  await assert.rejects(waitForFirstBoot(host("running", 1, "status: error"), { host: "mx", timeoutMs: 60_000, say: () => {} }),
    /^Error: mx: cloud-init failed on the first boot: status: error\./);
});
