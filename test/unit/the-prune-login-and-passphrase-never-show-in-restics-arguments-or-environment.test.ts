// `podkit backup <stack> --prune` runs restic on the admin's machine with the
// prune login, which may delete the pod's history. Every user of that machine
// can read a process's arguments (ps); its environment is readable by the same
// user. Run for real, through the CLI, with a fake restic on PATH that records
// its argv, its environment, and what the files it was pointed at held.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = join(__dirname, "..", "..");
const PRUNE_PASSWORD = "prune-Pw-7f3a9c";
const PASSPHRASE = "the repository passphrase 42";

test("restic gets the prune login and the passphrase from private files, never in its arguments or environment", () => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-prune-test-"));
  const stack = join(dir, "pod.yaml");
  const lab = readFileSync(join(ROOT, "stacks", "lab-a.yaml"), "utf8");
  // The lab pod's stack on an existing host (no lab needed to load it).
  const edited = lab.replace("    lab: { name: a }\n", "    existing:\n      address: 203.0.113.25\n      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8\n")
    .replace("  caa: []                      # the lab CA checks no CAA records\n", "");
  assert.notEqual(edited, lab);
  writeFileSync(stack, edited);
  const secrets: Record<string, string> = {
    "alice-password": "a-pw-1234", "carol-password": "c-pw-1234", "backup-rest-password": "rest-pw-1234",
    "backup-prune-password": PRUNE_PASSWORD, "backup-passphrase": PASSPHRASE,
  };
  writeFileSync(join(dir, "pod.secrets.yaml"), Object.entries(secrets).map(([k, v]) => `${k}: "${v}"\n`).join(""), { mode: 0o600 });

  // The fake restic: what ps and /proc/<pid>/environ would show, and the files it was given.
  const bin = join(dir, "bin");
  execFileSync("mkdir", [bin]);
  writeFileSync(join(bin, "restic"), `#!/bin/sh
printf '%s\\n' "$@" > ${dir}/argv
env > ${dir}/environ
while [ $# -gt 0 ]; do
  case "$1" in
    --repository-file) cat "$2" > ${dir}/repository; stat -c %a "$2" > ${dir}/repository.mode ;;
    --password-file) cat "$2" > ${dir}/password; stat -c %a "$2" > ${dir}/password.mode; echo "$2" > ${dir}/password.path ;;
  esac
  shift
done
`);
  chmodSync(join(bin, "restic"), 0o755);

  execFileSync(process.execPath, [join(ROOT, "bin", "podkit.js"), "backup", stack, "--prune"], {
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, RESTIC_PASSWORD: PASSPHRASE }, encoding: "utf8",
  });
  const argv = readFileSync(join(dir, "argv"), "utf8");
  const environ = readFileSync(join(dir, "environ"), "utf8");
  for (const secret of [PRUNE_PASSWORD, PASSPHRASE]) {
    assert.ok(!argv.includes(secret), `not in restic's arguments: ${argv}`);
    assert.ok(!environ.includes(secret), "not in restic's environment");
  }
  assert.match(argv, /^forget\n--prune\n/m);
  // restic did get them, from files only its user could read, gone once it ended.
  assert.equal(readFileSync(join(dir, "repository"), "utf8"), `rest:https://lab-a-prune:${PRUNE_PASSWORD}@10.77.0.13:8001/lab-a\n`);
  assert.equal(readFileSync(join(dir, "password"), "utf8"), `${PASSPHRASE}\n`);
  assert.equal(readFileSync(join(dir, "repository.mode"), "utf8").trim(), "600");
  assert.equal(readFileSync(join(dir, "password.mode"), "utf8").trim(), "600");
  assert.ok(!existsSync(readFileSync(join(dir, "password.path"), "utf8").trim()), "the password file is removed after restic ends");
});
