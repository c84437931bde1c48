// An apply cut off after it moved a role's files in, but before their handlers
// and reloads ran, leaves files the stack wants and daemons running the old
// config: the facts of the next apply find nothing to write. So the commit
// notes what it moved in (/var/lib/podkit/pending/<role>) until the role is
// done, and the next apply runs that role's handlers, reloads and probes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeActions, hasWork, roleActions } from "../../lib/converge/actions";
import { sha256 } from "../../lib/converge/changes";
import { factsScript, parseFacts } from "../../lib/converge/facts";
import { commitScript, discardRollbackScript } from "../../lib/converge/scripts";
import type { Facts, RoleState } from "../../lib/converge/types";

const role: RoleState = {
  role: "mail",
  packages: [],
  files: [{ path: "/etc/postfix/virtual", content: "info@a.test alice@a.test\n" }],
  handlers: [{ name: "postmap virtual", when: ["/etc/postfix/virtual"], run: "postmap /etc/postfix/virtual" }],
  services: [{ unit: "postfix.service", watch: ["/etc/postfix/"], ports: [25] }],
};

const live: Facts = {
  files: { "/etc/postfix/virtual": { sha256: sha256("info@a.test alice@a.test\n"), mode: 0o644, owner: "root", group: "root" } },
  dirs: {}, packages: {}, users: [], dueHandlers: [],
  units: { "postfix.service": { active: "active", enabled: "enabled" } },
};

test("the facts read what an interrupted apply moved in, by role", () => {
  const query = { files: [], dirs: [], packages: [], units: [] };
  assert.match(factsScript(query), /for f in \/var\/lib\/podkit\/pending\/\*; do/);
  const facts = parseFacts("N mail /etc/postfix/virtual\nN mail /etc/postfix/main.cf\nN xmpp /etc/prosody/prosody.cfg.lua\n", query);
  assert.deepEqual(facts.pending, { mail: ["/etc/postfix/virtual", "/etc/postfix/main.cf"], xmpp: ["/etc/prosody/prosody.cfg.lua"] });
  assert.equal(parseFacts("", query).pending, undefined);
});

test("files already as the stack says, but noted as pending, get their handlers, reload and health check again", () => {
  const done = roleActions(role, live);
  assert.equal(hasWork(done), false, "nothing pending: nothing to do");
  const a = roleActions(role, { ...live, pending: { mail: ["/etc/postfix/virtual"] } });
  assert.equal(hasWork(a), true);
  assert.deepEqual(a.files, [], "nothing is written again");
  assert.deepEqual(a.handlers.map((h) => h.name), ["postmap virtual"]);
  assert.deepEqual(a.services, [{ unit: "postfix.service", verb: "reload-or-restart" }]);
  assert.deepEqual(a.health.map((h) => h.unit), ["postfix.service"]);
  assert.deepEqual(describeActions(a), ["postmap virtual", "reload-or-restart postfix.service", "finish what an interrupted apply moved in (/etc/postfix/virtual)"]);
  assert.equal(hasWork(roleActions(role, { ...live, pending: { xmpp: ["/etc/prosody/prosody.cfg.lua"] } })), false, "another role's note is not this one's");
});

test("the commit notes the paths before it moves the first one in, and the note goes with the rollback copies", () => {
  const s = commitScript("mail", [{ file: role.files[0], reason: "content" }], [], []);
  const note = s.indexOf("printf '%s\\n' '/etc/postfix/virtual' >> '/var/lib/podkit/pending/mail'");
  assert.ok(note > 0, s);
  assert.ok(note < s.indexOf("mv -f '/etc/postfix/virtual.podkit-new' '/etc/postfix/virtual'"));
  assert.match(discardRollbackScript("mail"), /^rm -rf '\/var\/lib\/podkit\/rollback\/mail' '\/var\/lib\/podkit\/pending\/mail'$/);
  assert.doesNotMatch(commitScript("mail", [], [{ path: "/var/mail" }], []), /pending/, "dirs alone are not noted");
});
