// One apply per host at a time (lib/converge/host-lock.ts): the lock script
// runs here, in bash, on a dir of its own, through a session whose channels
// are local processes; and apply's exit code and message when the host is held.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { describeHolder, formatHolder, HostBusy, lockHost, parseHolder, thisRun, type Holder, type LockPlace } from "../../lib/converge/host-lock";
import type { Channel, Session } from "../../lib/converge/ssh";
import { describeFailure } from "../../lib/cli/converge-report";
import { lockWaitOption } from "../../lib/cli/args";

const alice: Holder = { machine: "laptop", user: "alice", started: "2026-12-02T12:01:02.000Z", version: "0.1.0", pid: 4242, what: "apply" };

test("who holds the host survives the trip through the lock's holder line", () => {
  assert.deepEqual(parseHolder(formatHolder(alice)), alice);
  assert.equal(parseHolder(""), undefined);
  assert.equal(describeHolder(alice, new Date("2026-12-02T12:04:02Z")),
    "podkit apply by alice on laptop (pid 4242, podkit 0.1.0), started 12:01:02 UTC, 3 min ago");
  assert.match(describeHolder(undefined), /has not said who it is/);
  const me = thisRun("backup", "9.9.9");
  assert.equal(me.pid, process.pid);
  assert.equal(me.what, "backup");
  assert.doesNotMatch(formatHolder({ ...alice, machine: "evil\thost\nx" }), /\n/, "one line, whatever a machine is called");
});

test("--lock-wait takes seconds, 120 by default", () => {
  assert.equal(lockWaitOption(undefined), 120);
  assert.equal(lockWaitOption("0"), 0);
  assert.throws(() => lockWaitOption("2m"), /not a number of seconds/);
});

/** A session whose channels are local bash processes: the lock script runs as it would on a host. */
function localSession(): { session: Session; kill: () => void } {
  const children: ReturnType<typeof spawn>[] = [];
  const session = {
    target: { name: "mx" },
    async hold(command: string, onLine: (line: string) => void): Promise<Channel> {
      const child = spawn("bash", ["-c", command], { stdio: ["pipe", "pipe", "pipe"] });
      children.push(child);
      let rest = "";
      let stderr = "";
      child.stdout!.on("data", (d: Buffer) => {
        const lines = (rest + d.toString()).split("\n");
        rest = lines.pop() ?? "";
        lines.forEach(onLine);
      });
      child.stderr!.on("data", (d: Buffer) => (stderr += d));
      const closed = new Promise<{ code: number; stderr: string }>((r) => child.on("close", (code) => r({ code: code ?? 255, stderr })));
      return { write: (t) => child.stdin!.writable && child.stdin!.write(t), end: () => child.stdin!.end(), closed };
    },
  };
  // Ends the lock holder as a killed podkit's would end: no end-of-file, no more heartbeats.
  return { session: session as unknown as Session, kill: () => children.forEach((c) => c.kill("SIGKILL")) };
}

const place = (): LockPlace & { heartbeatMs: number } => ({ dir: mkdtempSync(join(tmpdir(), "podkit-hostlock-")), lostS: 2, heartbeatMs: 300 });

test("a second run waits, names the first, and takes the host when the first lets go", async () => {
  const at = place();
  const first = await lockHost(localSession().session, { holder: alice, at });
  const said: string[] = [];
  const second = lockHost(localSession().session, { holder: { ...alice, user: "bob", pid: 7 }, waitS: 20, at, say: (l) => said.push(l) });
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(said.length, 1);
  assert.match(said[0], /^mx: waiting for the host, which another run holds: podkit apply by alice on laptop \(pid 4242, podkit 0\.1\.0\).*\(up to 20s\)$/);
  await first.release();
  const lock = await second;
  await lock.release();
});

test("a run that outwaits its limit is refused with the holder, and apply reads that as exit 75's failure", async () => {
  const at = place();
  const first = await lockHost(localSession().session, { holder: alice, at });
  await assert.rejects(lockHost(localSession().session, { holder: alice, waitS: 1, at }), (err: Error) => {
    assert.ok(err instanceof HostBusy);
    assert.match(err.message, /^mx: another run holds the host after 1s of waiting: podkit apply by alice on laptop/);
    const f = describeFailure(err, { pod: "lab-a", stackFile: "stacks/lab-a.yaml", host: "mx" });
    assert.equal(f.role, "lock");
    assert.match(f.next, /^podkit apply stacks\/lab-a\.yaml --host mx/);
    return true;
  });
  await first.release();
});

test("a holder whose podkit went silent (killed, or its network gone) loses the lock to the next run", async () => {
  const at = place();
  const gone = localSession();
  await lockHost(gone.session, { holder: alice, at: { ...at, heartbeatMs: 60_000 } });
  const started = Date.now();
  const lock = await lockHost(localSession().session, { holder: { ...alice, user: "bob" }, waitS: 20, at });
  assert.ok(Date.now() - started < 10_000, "taken over once the silence ran out");
  await lock.release();
  gone.kill();
});

test("a script a killed run left running on the host holds the next run back until it is done, with a line saying so", async () => {
  const at = place();
  // What Session.run starts for every script: the work lock held shared while it runs.
  const leftover = spawn("flock", ["-s", join(at.dir, "work.lock"), "sleep", "2"]);
  await new Promise((r) => setTimeout(r, 300));
  const said: string[] = [];
  const started = Date.now();
  const lock = await lockHost(localSession().session, { holder: alice, waitS: 20, at, say: (l) => said.push(l) });
  assert.ok(Date.now() - started >= 1500, "the run waited for the leftover script");
  assert.deepEqual(said, ["mx: waiting for what a run that was cut off left running on the host to finish (up to 600s)"]);
  await lock.release();
  leftover.kill();
  // Nothing left over: no wait, no line.
  const quiet: string[] = [];
  await (await lockHost(localSession().session, { holder: alice, at, say: (l) => quiet.push(l) })).release();
  assert.deepEqual(quiet, []);
});
