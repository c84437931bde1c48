// Must show 5: after `podkit lab down` no bridge, veth, overlay mount, nft table or lab
// process remains and ip_forward is back; `up` works again; `down` twice is fine; and
// `down` cleans up after a crash. Last lab test file: it leaves the lab down.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { LAB, PATHS, RUN_DIR } from "../../lib/lab/config";
import { readPid } from "../../lib/lab/proc";
import { readLabState } from "../../lib/lab/state";
import { ensureLab, onHost, podkit, reportTimings, run } from "./helpers";

/** What of the lab is left, found with the system's own tools (not the lab's code). */
async function leftovers(): Promise<string[]> {
  const left: string[] = [];
  const links = (await run("ip", ["-o", "link", "show"])).stdout;
  for (const l of links.split("\n")) if (l.includes(LAB.bridge) || /\bvb-lab-/.test(l)) left.push(`link: ${l.split(":")[1]?.trim()}`);
  for (const m of fs.readFileSync("/proc/mounts", "utf8").split("\n")) if (m.includes(PATHS.hosts) || m.includes("podkit/lab/base")) left.push(`mount: ${m}`);
  if ((await run("nft", ["list", "tables"])).stdout.includes(LAB.nftTable)) left.push(`nft table ${LAB.nftTable}`);
  for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
      if (cmd.includes(RUN_DIR) || cmd.includes("--machine=lab-") || fs.readFileSync(`/proc/${pid}/mountinfo`, "utf8").includes(`upperdir=${PATHS.hosts}/`)) {
        left.push(`process ${pid}: ${cmd.slice(0, 80)}`);
      }
    } catch {
      /* exited meanwhile */
    }
  }
  if (fs.existsSync(PATHS.state)) left.push("state file");
  return left;
}

let keysBefore: string[] = [];
const ipForward = () => fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim();

test("down removes bridge, veths, mounts, nft table and every lab process, and restores ip_forward", { timeout: 120_000 }, async (t) => {
  keysBefore = Object.values((await ensureLab()).hosts).map((h) => h.hostKey);
  const before = fs.readFileSync(PATHS.ipForwardSaved, "utf8").trim();
  assert.ok((await leftovers()).length > 0, "the up lab shows nothing to clean up: this test would prove nothing");
  const started = Date.now();
  const down = await podkit("lab", "down");
  t.diagnostic(`lab down in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await leftovers(), []);
  assert.equal(ipForward(), before, "ip_forward is not what it was before the lab");
  const status = await podkit("lab", "status");
  assert.equal(status.code, 69, "status of a down lab exits 69");
  assert.match(status.stdout, /^lab: down$/m);
});

test("down on a lab that is already down succeeds and changes nothing", async () => {
  const forward = ipForward();
  const again = await podkit("lab", "down");
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await leftovers(), []);
  assert.equal(ipForward(), forward);
});

test("up works again after down, with new host keys", { timeout: 120_000 }, async (t) => {
  const up = await podkit("lab", "up");
  assert.equal(up.code, 0, up.stderr);
  const state = readLabState()!;
  reportTimings(t, state);
  assert.equal(state.timings.baseBuildMs, null, "the base tree was rebuilt instead of reused");
  assert.ok(state.timings.upMs < 30_000, `with the base tree cached the lab took ${state.timings.upMs} ms to come up`);
  for (const [name, h] of Object.entries(state.timings.hosts)) assert.ok(h.totalMs < 5000, `host ${name} took ${h.totalMs} ms`);
  assert.equal((await onHost(state, "a", "hostname")).stdout.trim(), "a");
  for (const h of Object.values(state.hosts)) assert.ok(!keysBefore.includes(h.hostKey), "a host kept its key across down/up: clones are not fresh");
  const status = await podkit("lab", "status");
  assert.equal(status.code, 0, status.stdout + status.stderr);
  // The default mix again, whatever a test recreated: a on Debian 13, b and backup on Debian 12.
  assert.match(status.stdout, /a\s+10\.77\.0\.11\s+Debian 13 \(trixie\)\s+running, ssh ok/);
  assert.match(status.stdout, /b\s+10\.77\.0\.12\s+Debian 12 \(bookworm\)\s+running, ssh ok/);
  assert.match(status.stdout, /backup\s+10\.77\.0\.13\s+Debian 12 \(bookworm\)\s+running, ssh ok/);
});

test("a second up leaves the running lab as it is", async () => {
  const stateBefore = fs.readFileSync(PATHS.state, "utf8");
  const up = await podkit("lab", "up");
  assert.equal(up.code, 0);
  assert.match(up.stderr, /already up/);
  assert.equal(fs.readFileSync(PATHS.state, "utf8"), stateBefore, "a second up changed the running lab");
});

test("while another podkit lab command holds the lock, up and down refuse and change nothing", async () => {
  fs.writeFileSync(PATHS.lock, `${process.pid}\n`); // this test process: alive, so the lock is not stale
  try {
    for (const cmd of ["up", "down"]) {
      const r = await podkit("lab", cmd);
      assert.equal(r.code, 69, `lab ${cmd} ran despite the lock`);
      assert.match(r.stderr, /another `podkit lab` command/);
    }
    assert.ok(readLabState(), "the lab went down although the lock was held");
  } finally {
    fs.rmSync(PATHS.lock, { force: true });
  }
});

test("down cleans up after a crash: nspawn and knot killed, state file lost", { timeout: 60_000 }, async () => {
  const nspawn = readPid("nspawn-b");
  const knot = readPid("knot");
  assert.ok(nspawn && knot, "lab is not up");
  process.kill(nspawn, "SIGKILL"); // host b's processes outlive their nspawn
  process.kill(knot, "SIGKILL");
  fs.rmSync(PATHS.state);
  const down = await podkit("lab", "down");
  assert.equal(down.code, 0, down.stderr);
  assert.deepEqual(await leftovers(), []);
});

test("up refuses, with a message naming the culprit, when the lab's bridge name or subnet is taken", { timeout: 60_000 }, async () => {
  assert.equal(readLabState(), null, "lab should be down here");
  // Empty bridges (no ports, never up: they carry no traffic; this kernel has no dummy driver), removed again below.
  const taken: [string, string[], RegExp][] = [
    [LAB.bridge, [], new RegExp(`interface "${LAB.bridge}" already exists and is not the lab's`)],
    ["podkittest0", ["10.77.0.200/24"], /subnet 10\.77\.0\.0\/24 is already in use on this machine \(podkittest0 has 10\.77\.0\.200\/24\)/],
  ];
  for (const [name, addrs, message] of taken) {
    assert.equal((await run("ip", ["link", "add", name, "type", "bridge"])).code, 0);
    try {
      for (const a of addrs) await run("ip", ["addr", "add", a, "dev", name]);
      const up = await podkit("lab", "up");
      assert.equal(up.code, 69, `up ran although ${name} took the lab's ${addrs.length ? "subnet" : "bridge name"}`);
      assert.match(up.stderr, message);
      assert.equal(readLabState(), null);
      assert.doesNotMatch((await run("nft", ["list", "tables"])).stdout, new RegExp(LAB.nftTable), "a refused up still created the nft table");
      // down must not take an interface the lab did not make.
      assert.equal((await podkit("lab", "down")).code, 0);
      assert.equal((await run("ip", ["link", "show", name])).code, 0, `down removed ${name}, which is not the lab's`);
    } finally {
      await run("ip", ["link", "del", name]);
    }
  }
  assert.deepEqual(await leftovers(), []);
});
