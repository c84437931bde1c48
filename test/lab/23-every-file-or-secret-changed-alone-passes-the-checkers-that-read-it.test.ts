// A change to one file (or one secret) alone must be checkable: the engine stages
// the live copies of everything a due checker reads, with the changed files on top.
// For every file each role manages on both lab pods, and for every secret the
// stacks name, this builds the staging area the engine would build for exactly
// that change and runs the daemons' own checkers on it, on the pod's real host.
// Nothing goes live: these are the checking half of an apply only.
import assert from "node:assert/strict";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as path from "node:path";
import { before, test } from "node:test";
import type { FileChange } from "../../lib/converge/changes";
import { sha256 } from "../../lib/converge/changes";
import { hostProviders } from "../../lib/cli/hosts";
import { planWork } from "../../lib/converge/pod";
import { checkScript, dueChecks } from "../../lib/converge/scripts";
import { Session } from "../../lib/converge/ssh";
import type { RoleState } from "../../lib/converge/types";
import { loadPod, type Pod } from "../../lib/stack/pod";
import { GENERATED, generatedSecretsFor, SecretStore, secretUses } from "../../lib/stack/secrets";
import { REPO } from "./helpers";
import { ensurePods } from "./pods";

before(async () => {
  await ensurePods();
});

/** A different valid value for a secret: a new key for the DKIM key, a new random string otherwise. */
function anotherValue(name: string): string {
  if (name === GENERATED.dkimKey) {
    return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  }
  return randomBytes(18).toString("base64url");
}

/** The pod as apply renders it, with one secret replaced. */
function withSecret(pod: Pod, name: string, value: string): Pod {
  const secrets = Object.create(pod.secrets) as SecretStore;
  secrets.get = (n: string) => (n === name ? value : pod.secrets.get(n));
  return { ...pod, secrets };
}

interface Case {
  what: string;
  role: RoleState;
  files: FileChange[];
}

for (const name of ["a", "b"]) {
  test(`lab-${name}: every managed file, and every secret, changed alone passes the checkers that read it`, async (t) => {
    const pod = loadPod(path.join(REPO, `stacks/lab-${name}.yaml`), { providers: hostProviders(), requireSecrets: true });
    const work = planWork(pod);
    const cases = new Map<string, Case[]>();
    const add = (host: string, c: Case) => cases.set(host, [...(cases.get(host) ?? []), c]);

    for (const w of work) {
      for (const role of w.states) {
        for (const file of role.files) add(w.host, { what: `${role.role} ${file.path}`, role, files: [{ file, reason: "content" }] });
      }
    }
    // A secret alone: the files each role renders differently with another value of it.
    const secretNames = [...new Set([...generatedSecretsFor(pod.stack), ...secretUses(pod.stack).map((u) => u.name)])];
    for (const secret of secretNames) {
      const changed = planWork(withSecret(pod, secret, anotherValue(secret)));
      for (const w of changed) {
        const before = work.find((x) => x.host === w.host)!;
        for (const role of w.states) {
          const old = before.states.find((r) => r.role === role.role)!;
          const files = role.files
            .filter((f) => sha256(f.content) !== sha256(old.files.find((o) => o.path === f.path)?.content ?? ""))
            .map((file): FileChange => ({ file, reason: "content" }));
          if (files.length) add(w.host, { what: `${role.role} secret ${secret} (${files.map((f) => f.file.path).join(", ")})`, role, files });
        }
      }
    }

    let checked = 0;
    let unchecked = 0;
    const failures: string[] = [];
    for (const w of work) {
      const session = await Session.open(w.target);
      try {
        for (const c of cases.get(w.host) ?? []) {
          const due = dueChecks(c.role.checks ?? [], c.files.map((f) => f.file.path));
          if (!due.length) {
            unchecked++;
            continue;
          }
          checked++;
          const r = await session.run(checkScript(c.role.role, c.files, c.role.checks ?? []));
          if (r.code !== 0) failures.push(`${w.host} ${c.what}: ${(r.stdout + r.stderr).trim()}`);
        }
      } finally {
        session.close();
      }
    }
    t.diagnostic(`lab-${name}: ${checked} (role, file or secret) cases ran their checkers (${unchecked} more change files no checker reads)`);
    assert.ok(checked >= 10, "the checkers ran for the files they read");
    assert.deepEqual(failures, [], "a valid change to one file or secret alone passes every checker it makes due");
  });
}
