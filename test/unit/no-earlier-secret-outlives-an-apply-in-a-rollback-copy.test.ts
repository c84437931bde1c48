// A changed file's previous version is copied aside before the new one goes
// live, so a daemon that fails on the new one gets the old one back. Once the
// change is live and healthy, or has been rolled back, those copies go: an old
// password hash or key must not stay on the host in a rollback copy. A fake
// session plays the host and records the scripts converge sends.
import assert from "node:assert/strict";
import { test } from "node:test";
import { convergeHost, ConvergeError } from "../../lib/converge/apply";
import { sha256 } from "../../lib/converge/changes";
import type { Session } from "../../lib/converge/ssh";
import type { RoleState } from "../../lib/converge/types";
import { roleContext } from "../../lib/converge/pod";
import { commitScript } from "../../lib/converge/scripts";
import { loadStackFile } from "../../lib/stack/load";
import { backup, BACKUP_PATHS } from "../../roles/backup/role";
import { profileOf } from "./host-profiles";
import { join } from "node:path";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
if (!loaded.ok) throw new Error("stacks/lab-a.yaml does not load");
const labStack = loaded.stack;

const ROLE: RoleState = {
  role: "mail",
  packages: [],
  files: [{ path: "/etc/dovecot/users", content: "alice@a.test:{SCRAM-SHA-256}new\n", mode: 0o640, group: "dovecot", secret: true }],
  services: [{ unit: "dovecot.service", watch: ["/etc/dovecot/"] }],
};

/** A host whose users file holds the old hash; `failing` makes the reload fail. */
function host(failing = false) {
  const scripts: string[] = [];
  const session = {
    target: { name: "mx" },
    async run(script: string) {
      scripts.push(script);
      if (script.includes("sha256sum")) {
        return { code: 0, stdout: `S 640 root dovecot /etc/dovecot/users\nH ${sha256("alice@a.test:{SCRAM-SHA-256}old\n")}  /etc/dovecot/users\nUId dovecot.service\nUActiveState active\nUUnitFileState enabled\n`, stderr: "" };
      }
      if (failing && script.includes("systemctl reload-or-restart")) return { code: 4, stdout: "dovecot.service failed", stderr: "" };
      return { code: 0, stdout: "", stderr: "" };
    },
    async must(script: string) {
      const r = await this.run(script);
      if (r.code !== 0) throw new Error(r.stdout);
      return r.stdout;
    },
    close() {},
  };
  return { session: session as unknown as Session, scripts };
}

const discards = (scripts: string[]) => scripts.filter((s) => s.includes("rm -rf '/var/lib/podkit/rollback/mail'"));

test("after a change has gone live, the role's rollback copies are removed", async () => {
  const { session, scripts } = host();
  await convergeHost(session, [ROLE]);
  const commit = scripts.findIndex((s) => s.includes('B=\'/var/lib/podkit/rollback/mail\''));
  assert.ok(commit >= 0, "the old users file was copied aside first");
  const discard = scripts.findIndex((s, i) => i > commit && discards([s]).length);
  assert.ok(discard > commit, "and the copy removed once the reload was healthy");
  assert.ok(scripts.slice(0, discard).some((s) => s.includes("reload-or-restart")), "only after the service came back");
});

test("after a change was rolled back, the copies go too", async () => {
  const { session, scripts } = host(true);
  await assert.rejects(convergeHost(session, [ROLE]), ConvergeError);
  const rollback = scripts.findIndex((s) => s.includes('(cd "$B" && find .'));
  assert.ok(rollback >= 0, "the old file was put back");
  assert.ok(scripts.slice(rollback + 1).some((s) => discards([s]).length), "then its copy removed");
});

test("rollback copies (root only) and the backup's status files (readable by a health check) live in separate directories", () => {
  const script = commitScript("mail", [{ file: ROLE.files[0], reason: "content" }], [], []);
  assert.match(script, /^install -d -m 700 \/var\/lib\/podkit\/rollback /m, "the rollback directory is root's alone");
  assert.match(script, /^B='\/var\/lib\/podkit\/rollback\/mail'$/m);
  const dirs = backup.state(roleContext(labStack, "mx", (n) => `value of ${n}`, profileOf(labStack, "mx"))).dirs ?? [];
  const status = dirs.find((d) => d.path === BACKUP_PATHS.state);
  assert.equal(status?.mode, 0o755, "the status directory has a mode of its own");
  assert.ok(!BACKUP_PATHS.state.startsWith("/var/lib/podkit/rollback"), "the status directory is not under the rollback one");
  assert.ok(!script.includes(`B='${BACKUP_PATHS.state}`), "nor are rollback copies kept under the status directory");
});
