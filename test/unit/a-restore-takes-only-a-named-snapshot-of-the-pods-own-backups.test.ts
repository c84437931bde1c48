// `podkit restore` restores the snapshot the admin names, and the pod's
// backup script checks it is one of this pod's own backups (host, tag, paths)
// before touching anything. A pod that was broken into holds the same
// append-only login as its schedule, so "the latest snapshot" could be one it
// planted: none is picked for the admin. The script runs for real with a fake
// restic that plays the repository and records what it was asked.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { checkerRootOf } from "../../lib/checker/root";

/** The pod's own rsync, when this machine has none: the Debian 12 checker root's. */
const CHECKER_ROOT = checkerRootOf("bookworm");
import { roleContext } from "../../lib/converge/pod";
import { loadStackFile } from "../../lib/stack/load";
import { backup } from "../../roles/backup/role";
import { profileOf } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const OWN = "4f3a2b1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";
const PLANTED = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

test("podkit restore without --snapshot refuses, and says how to list the snapshots", () => {
  // The lab pod's stack on an address nothing answers at (TEST-NET-1): whatever happens, no host is touched.
  const dir = mkdtempSync(join(tmpdir(), "podkit-restore-cli-"));
  const stack = join(dir, "pod.yaml");
  writeFileSync(stack, readFileSync(join(ROOT, "stacks", "lab-a.yaml"), "utf8")
    .replace("    lab: { name: a }\n", "    existing:\n      address: 192.0.2.1\n      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\n"));
  const podkit = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "bin", "podkit.js"), "restore", stack, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  const r = podkit();
  assert.equal(r.status, 64, r.stderr);
  assert.ok(r.stderr.includes(`name the snapshot to restore: --snapshot ID (podkit backup ${stack} --list`), r.stderr);
  assert.equal(podkit("--snapshot", "latest").status, 64, "\"latest\" is not a snapshot anyone chose");
});

/** Runs `podkit-backup restore ID` from the lab pod's role, against a fake restic and a fake host. */
function restore(id: string) {
  const loaded = loadStackFile(join(ROOT, "stacks", "lab-a.yaml"));
  assert.ok(loaded.ok);
  const ctx = roleContext(loaded.stack, "mx", (n) => `value of ${n}`, profileOf(loaded.stack, "mx"));
  const dir = mkdtempSync(join(tmpdir(), "podkit-restore-"));
  const script = backup.state(ctx).files.find((f) => f.path === "/usr/local/sbin/podkit-backup")!.content
    .replace("CONF=/etc/podkit/backup", `CONF=${dir}/conf`)
    .replaceAll("/etc/dovecot/users", `${dir}/users`)
    .replaceAll("/run/podkit-backup.lock", `${dir}/lock`)
    .replace(/^STAGE=.*$/m, `STAGE=${dir}/stage`).replace(/^STATE=.*$/m, `STATE=${dir}/state`);
  mkdirSync(join(dir, "conf"));
  writeFileSync(join(dir, "conf", "repository"), "export RESTIC_REPOSITORY=rest:https://example.invalid/x\n");
  writeFileSync(join(dir, "users"), "");
  const bin = join(dir, "bin");
  mkdirSync(bin);
  // The repository holds one snapshot of this pod (host mx.a.test, tag podkit, its paths) when asked with
  // those filters; the planted one has another host. Anything else asked is recorded, then refused.
  writeFileSync(join(bin, "restic"), `#!/bin/sh
echo "$*" >> ${dir}/restic.log
case "$1" in
  snapshots) case "$*" in *"--host mx.a.test --tag podkit --path ${dir}/stage/mail --path ${dir}/stage/prosody --path /etc/dkimkeys"*)
    echo '[{"time":"2026-12-01T03:30:00Z","hostname":"mx.a.test","tags":["podkit"],"id":"${OWN}","short_id":"${OWN.slice(0, 8)}"}]' ;; *) echo '[]' ;; esac ;;
  *) exit 1 ;;
esac
`);
  writeFileSync(join(bin, "systemctl"), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`);
  for (const f of ["restic", "systemctl"]) chmodSync(join(bin, f), 0o755);
  writeFileSync(join(dir, "podkit-backup"), script);
  const r = spawnSync("bash", [join(dir, "podkit-backup"), "restore", id], { encoding: "utf8", env: { PATH: `${bin}:/usr/bin:/bin` } });
  const log = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : "");
  return { code: r.status, out: r.stdout + r.stderr, restic: log("restic.log"), systemctl: log("systemctl.log") };
}

test("a snapshot that is not one of the pod's own backups is refused before any service stops or any data moves", () => {
  const r = restore(PLANTED);
  assert.equal(r.code, 3, r.out);
  assert.match(r.out, /not one of this pod's backups \(host mx\.a\.test, tag podkit\): nothing was changed/);
  assert.doesNotMatch(r.restic, /^restore /m, "restic restore was never run");
  assert.equal(r.systemctl, "", "no service was stopped");
});

test("the pod's own snapshot, by full or short id, passes the check and is what restic restores", () => {
  for (const id of [OWN, OWN.slice(0, 8)]) {
    const r = restore(id);
    assert.match(r.restic, new RegExp(`^restore ${id} --target `, "m"), r.out);
  }
});

test("no id, or something that is not one, is refused by the script too", () => {
  for (const id of ["", "latest", "abc;rm"]) {
    const r = restore(id);
    assert.equal(r.code, 64, r.out);
    assert.equal(r.restic, "", "restic was not asked anything");
  }
});

test("the chat data a backup copies leaves out the account files: no password hash goes into a backup", (t) => {
  const loaded = loadStackFile(join(ROOT, "stacks", "lab-a.yaml"));
  assert.ok(loaded.ok);
  const ctx = roleContext(loaded.stack, "mx", (n) => `value of ${n}`, profileOf(loaded.stack, "mx"));
  const script = backup.state(ctx).files.find((f) => f.path === "/usr/local/sbin/podkit-backup")!.content;
  const line = script.split("\n").find((l) => /^\s*rsync .*\/var\/lib\/prosody\/ "\$STAGE\/prosody\/"$/.test(l));
  assert.ok(line, "the chat copy's rsync line");
  // Run it on a copy of Prosody's storage, a stale staged account file included: with this
  // machine's rsync, or the checker root's (the pod's own), or not at all.
  const local = ["/usr/bin/rsync", "/bin/rsync"].some((p) => existsSync(p));
  const root = local ? "" : CHECKER_ROOT;
  if (!local && !existsSync(join(CHECKER_ROOT, "usr/bin/rsync"))) return t.skip("no rsync here and no checker root (scripts/setup.sh builds it)");
  const dir = mkdtempSync(join(root ? join(root, "tmp") : tmpdir(), "podkit-stage-"));
  const inside = root ? dir.slice(root.length) : dir;
  for (const f of ["prosody/a%2etest/accounts/alice.dat", "prosody/a%2etest/archive/alice.list", "prosody/a%2etest/roster/alice.dat", "stage/prosody/a%2etest/accounts/old.dat"]) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), "x");
  }
  const command = line.trim().replace("/var/lib/prosody/", `${inside}/prosody/`).replace('"$STAGE/prosody/"', `${inside}/stage/prosody/`);
  const argv = root ? [root, "sh", "-c", command] : ["-c", command];
  const r = spawnSync(root ? "chroot" : "sh", argv, { encoding: "utf8" });
  try {
    assert.equal(r.status, 0, r.stderr);
    assert.ok(existsSync(join(dir, "stage/prosody/a%2etest/archive/alice.list")) && existsSync(join(dir, "stage/prosody/a%2etest/roster/alice.dat")), "archives and rosters are copied");
    assert.ok(!existsSync(join(dir, "stage/prosody/a%2etest/accounts")), "account files are not, and an old staged one is gone");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
