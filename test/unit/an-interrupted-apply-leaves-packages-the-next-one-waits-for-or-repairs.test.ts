// An apply cut off while apt installs leaves apt running on the host (or dpkg
// half done): the next apply waits for it with a line naming it, up to a
// bound, instead of failing on debconf's lock (lib/converge/package-lock.ts).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { describePackageWait, packagesReadyLines, parsePackageWait, watchPackageWait } from "../../lib/converge/package-lock";
import { installScript, retireScript } from "../../lib/converge/scripts";

test("the install script waits for the package system before debconf and apt, and apt waits for dpkg's lock too", () => {
  const s = installScript(["postfix"], ["postfix postfix/main_mailer_type select No configuration"]);
  assert.equal(spawnSync("bash", ["-n"], { input: s }).status, 0, "valid bash");
  const wait = s.indexOf("pkg_holders");
  assert.ok(wait > 0 && wait < s.indexOf("debconf-set-selections"), "the wait comes before debconf-set-selections");
  assert.ok(s.indexOf("dpkg --force-confold --configure -a") < s.indexOf("apt-get install"), "an interrupted dpkg is finished before apt");
  assert.match(s, /apt-get install -y -qq -o DPkg::Lock::Timeout=600/);
  assert.match(s, /-lname '\/var\/lib\/dpkg\/lock-frontend'.*-lname '\/var\/cache\/debconf\/\*\.dat'/);
  assert.match(retireScript([], ["opendkim"]), /pkg_holders[\s\S]*apt-get remove -y -qq -o DPkg::Lock::Timeout=600/);
  assert.doesNotMatch(retireScript(["old.service"], []), /pkg_holders/, "stopping a unit waits for nobody");
});

test("the wait's lines become sentences for the admin, whatever the chunks", () => {
  assert.deepEqual(parsePackageWait("podkit:packages-busy 15 4242 apt-get install -y postfix"), { kind: "busy", waited: 15, pid: 4242, command: "apt-get install -y postfix" });
  assert.deepEqual(parsePackageWait("podkit:dpkg-repair"), { kind: "repair" });
  assert.equal(parsePackageWait("pmstatus:postfix:40:Unpacking postfix"), undefined);
  const said: string[] = [];
  const passed: string[] = [];
  const watch = watchPackageWait((l) => said.push(l), (c) => passed.push(c));
  watch("pmstatus:x:1:y\npodkit:packages-bu");
  watch("sy 0 4242 apt-get install postfix\n");
  assert.deepEqual(said, [describePackageWait({ kind: "busy", waited: 0, pid: 4242, command: "apt-get install postfix" })]);
  assert.match(said[0], /waiting for a package operation still running on the host \(pid 4242: apt-get install postfix\), 0s so far, up to 600s/);
  assert.equal(passed.join(""), "pmstatus:x:1:y\npodkit:packages-busy 0 4242 apt-get install postfix\n", "apt's lines still reach the progress");
});

/** Runs the wait lines with a lock file of our own, held open by `sleep` for `holdS` seconds. */
function runWait(limitS: number, holdS: number): Promise<{ code: number; out: string; holder: number }> {
  const dir = mkdtempSync(join(tmpdir(), "podkit-lock-"));
  const lock = join(dir, "lock-frontend");
  writeFileSync(lock, "");
  const holder = spawn("bash", ["-c", `exec 9<"${lock}"; sleep ${holdS}`], { stdio: "ignore" });
  return new Promise((resolve) => {
    // Give the holder a moment to open the file.
    setTimeout(() => {
      const script = ["set -eu", ...packagesReadyLines(limitS, [lock]), "echo ready"].join("\n");
      const run = spawn("bash", ["-s"], { stdio: ["pipe", "pipe", "pipe"] });
      let out = "";
      run.stdout.on("data", (d) => (out += d));
      run.on("close", (code) => {
        holder.kill();
        resolve({ code: code ?? 1, out, holder: holder.pid! });
      });
      run.stdin.end(script);
    }, 300);
  });
}

test("a package operation that ends within the bound is waited for, and named", async () => {
  const r = await runWait(20, 2);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`^podkit:packages-busy 0 ${r.holder} sleep 2`, "m"));
  assert.match(r.out, /ready\n$/);
});

test("one that outlasts the bound is refused with exit 75 and its holder", async () => {
  const r = await runWait(1, 10);
  assert.equal(r.code, 75, r.out);
  assert.match(r.out, new RegExp(`another package operation \\(pid ${r.holder}: sleep 10 ?\\) still holds the package system after 1s`));
});
