// One line added to the stack changes only what follows
// from it — the alias map (and who may send as the alias) — and reloads Postfix
// alone; mail to the new alias arrives.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

let pods: Pods;
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const stack = path.join(mkdtempSync(path.join(tmpdir(), "podkit-alias-")), "lab-a.yaml");

before(async () => {
  pods = await ensurePods();
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  const edited = original.replace("    password: { secret: carol-password }\n", "    password: { secret: carol-password }\n    aliases: [info]\n");
  assert.notEqual(edited, original);
  writeFileSync(stack, edited);
});

after(async () => {
  // Leave pod a as its stack file says, for the tests that follow.
  await apply("stacks/lab-a.yaml");
});

test("adding an alias changes only the alias maps and reloads only Postfix (rspamd reads its map by itself); mail to the alias arrives", async (t) => {
  const r = await apply(stack, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const roles = Object.fromEntries(r.report.hosts[0].roles.map((x: { role: string; items: string[] }) => [x.role, x.items]));
  t.diagnostic(`changes: ${JSON.stringify(roles)}`);
  for (const role of ["base", "tls", "web"]) assert.deepEqual(roles[role], [], `${role} must not change`);
  assert.deepEqual([...roles.mail].sort(), [
    // rspamd's copy of who may send as what (the header From rule): it re-reads it itself, no restart.
    "/etc/postfix/sender_logins", "/etc/postfix/virtual", "/etc/rspamd/podkit/sender_logins.map", "postmap sender_logins", "postmap virtual", "reload-or-restart postfix.service",
  ]);

  const subject = token("alias");
  await submit(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), { to: "info@a.test", subject, text: "to the new alias" });
  const raw = await fetchBySubject(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), subject);
  assert.match(raw.toString(), /^To: info@a\.test/m);
});
