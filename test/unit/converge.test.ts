// The converge core's pure parts: what counts as a change, which actions a
// change makes due, and what the one-round-trip fact script reports.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { describeActions, hasWork, roleActions } from "../../lib/converge/actions";
import { queryFor, roleChanges, sha256 } from "../../lib/converge/changes";
import { factsScript, parseFacts } from "../../lib/converge/facts";
import { fingerprint, parsePin } from "../../lib/ssh/keys";
import { renderTemplate } from "../../lib/converge/template";
import type { Facts, RoleState } from "../../lib/converge/types";

const role: RoleState = {
  role: "demo",
  packages: ["postfix", "dovecot-core"],
  files: [
    { path: "/etc/demo/a.conf", content: "a = 1\n" },
    { path: "/etc/demo/secret", content: "s3cret\n", mode: 0o600, secret: true },
  ],
  services: [{ unit: "demo.service", watch: ["/etc/demo/"] }],
};

const converged: Facts = {
  files: {
    "/etc/demo/a.conf": { sha256: sha256("a = 1\n"), mode: 0o644, owner: "root", group: "root" },
    "/etc/demo/secret": { sha256: sha256("s3cret\n"), mode: 0o600, owner: "root", group: "root" },
  },
  dirs: {},
  packages: { postfix: "3.7.11-0+deb12u1", "dovecot-core": "1:2.3.19.1" },
  units: { "demo.service": { active: "active", enabled: "enabled" } },
  dueHandlers: [],
  users: [],
};

test("a host that matches the role needs no change", () => {
  const c = roleChanges(role, converged);
  assert.deepEqual([c.packages, c.files, c.units, c.dirs, c.absent, c.handlers], [[], [], [], [], [], []]);
});

test("content, mode, owner, missing files, packages and stopped units are each a change", () => {
  const drifted: Facts = structuredClone(converged);
  drifted.files["/etc/demo/a.conf"]!.sha256 = sha256("a = 2\n");
  drifted.files["/etc/demo/secret"]!.mode = 0o644;
  delete drifted.packages.postfix;
  drifted.units["demo.service"].active = "failed";
  const c = roleChanges(role, drifted);
  assert.deepEqual(c.files.map((f) => [f.file.path, f.reason]), [["/etc/demo/a.conf", "content"], ["/etc/demo/secret", "mode"]]);
  assert.deepEqual(c.packages, ["postfix"]);
  assert.deepEqual(c.units, [{ unit: "demo.service", enable: false, start: true }]);
  const gone = structuredClone(converged);
  gone.files["/etc/demo/a.conf"] = undefined;
  gone.files["/etc/demo/secret"]!.owner = "nobody";
  assert.deepEqual(roleChanges(role, gone).files.map((f) => f.reason), ["new", "owner"]);
});

test("the fact script reports hashes, modes and owners of files, and misses absent ones", () => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-facts-"));
  writeFileSync(join(dir, "a b.conf"), "hello\n", { mode: 0o640 });
  const query = {
    files: [join(dir, "a b.conf"), join(dir, "missing")], dirs: [dir], packages: ["bash", "surely-not-installed-pkg"], units: [],
    guards: { "demo/ok": "true", "demo/due": `[ -e ${join(dir, "missing")} ]` },
  };
  const out = spawnSync("bash", ["-s"], { input: factsScript(query), encoding: "utf8" });
  assert.equal(out.status, 0, out.stderr);
  const facts = parseFacts(out.stdout, query);
  assert.deepEqual(facts.files[join(dir, "a b.conf")], { sha256: sha256("hello\n"), mode: 0o640, owner: "root", group: "root" });
  assert.equal(facts.files[join(dir, "missing")], undefined);
  assert.ok(facts.dirs[dir]);
  assert.match(facts.packages.bash ?? "", /^\d/);
  assert.equal(facts.packages["surely-not-installed-pkg"], undefined);
  assert.deepEqual(facts.dueHandlers, ["demo/due"]);
});

test("a handler whose guard fails is due even when no file changed", () => {
  const withGuard: RoleState = { ...role, handlers: [{ name: "get cert", when: ["/etc/demo/req"], run: "true", unless: "test -s /x" }] };
  assert.deepEqual(queryFor([withGuard]).guards, { "demo/get_cert": "test -s /x" });
  assert.deepEqual(roleChanges(withGuard, { ...converged, dueHandlers: ["demo/get_cert"] }).handlers, ["get cert"]);
  assert.deepEqual(roleChanges(withGuard, converged).handlers, []);
});

test("the fact query covers every file, package and unit of every role once", () => {
  const q = queryFor([role, { ...role, role: "other", packages: ["postfix", "nginx"] }]);
  assert.deepEqual(q.packages, ["postfix", "dovecot-core", "nginx"]);
  assert.deepEqual(q.files, ["/etc/demo/a.conf", "/etc/demo/secret"]);
  assert.deepEqual(q.units, ["demo.service"]);
});

test("a pinned public key line and its fingerprint pin the same key", () => {
  const blob = Buffer.from("AAAAC3NzaC1lZDI1NTE5AAAAIJ1mB2Y8Zn8m4m8p1h5bq0vWc1Lw1o3iQn0cM9sX2a7T", "base64");
  const line = `ssh-ed25519 ${blob.toString("base64")} root@host`;
  const fp = fingerprint(blob);
  assert.equal(parsePin(line).fingerprint, fp);
  assert.equal(parsePin(line).keyType, "ssh-ed25519");
  assert.equal(parsePin(fp).fingerprint, fp);
  const keygen = spawnSync("ssh-keygen", ["-lf", "-"], { input: line, encoding: "utf8" });
  if (keygen.status === 0) assert.match(keygen.stdout, new RegExp(fp.replace(/[+/]/g, "\\$&")));
});

test("a template with a placeholder the role does not fill is refused, not rendered empty", () => {
  assert.throws(() => renderTemplate("base", "etc/systemd/journald.conf.d/podkit.conf", { fqdn: "mx.example.org" }), /no value for \{\{days\}\}/);
  const ok = renderTemplate("base", "etc/systemd/journald.conf.d/podkit.conf", { fqdn: "mx.example.org", days: 7 });
  assert.match(ok, /^MaxRetentionSec=7day$/m);
});

test("unit states come from systemd in two calls whatever their number, and an instance unit from show", () => {
  // What systemd 257 prints (a trixie pod): a fake systemctl answers each call as the real one does.
  const dir = mkdtempSync(join(tmpdir(), "podkit-systemctl-"));
  writeFileSync(join(dir, "systemctl"), `#!/bin/sh
echo "$*" >> "${dir}/calls"
case "$1" in
  list-units) printf '%s\\n' 'nginx.service loaded active running A high performance web server and a reverse proxy server' 'certbot.timer loaded inactive dead Run certbot twice daily' 'rspamd.service loaded failed failed rapid spam filtering system' ;;
  list-unit-files) printf '%s\\n' 'certbot.timer enabled enabled' 'nginx.service enabled enabled' 'rspamd.service disabled enabled' ;;
  show) printf '%s\\n' 'Id=wg-quick@wg-podkit.service' 'ActiveState=activating' 'UnitFileState=enabled' '' ;;
esac
`, { mode: 0o755 });
  const query = { files: [], dirs: [], packages: [], units: ["nginx.service", "certbot.timer", "rspamd.service", "never-installed.service", "wg-quick@wg-podkit.service"] };
  const run = spawnSync("bash", ["-s"], { input: factsScript(query), encoding: "utf8", env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } });
  assert.equal(run.status, 0, run.stderr);
  const { units } = parseFacts(run.stdout, query);
  const calls = readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
  rmSync(dir, { recursive: true });
  assert.deepEqual(units, {
    "nginx.service": { active: "active", enabled: "enabled" },
    "certbot.timer": { active: "inactive", enabled: "enabled" },
    "rspamd.service": { active: "failed", enabled: "disabled" },
    "wg-quick@wg-podkit.service": { active: "activating", enabled: "enabled" },
  });
  assert.equal(calls.length, 3, calls.join("\n"));
  assert.match(calls[2], /^show .*wg-quick@wg-podkit\.service$/);
  // A unit systemd does not know needs starting and enabling, as one that is off does.
  const actions = roleChanges({ role: "demo", packages: [], files: [], services: [{ unit: "never-installed.service", watch: [] }] }, { ...converged, units });
  assert.deepEqual(actions.units, [{ unit: "never-installed.service", enable: true, start: true }]);
});

test("a host that matches the role has no action to take", () => {
  const a = roleActions(role, converged);
  assert.equal(hasWork(a), false);
  assert.deepEqual(describeActions(a), []);
});

test("a changed file reloads the services and runs the handlers watching it, and each reloaded unit is health-checked", () => {
  const withMore: RoleState = {
    ...role,
    handlers: [{ name: "postmap", when: ["/etc/demo/a.conf"], run: "true" }, { name: "other", when: ["/etc/other/"], run: "true" }],
    services: [
      { unit: "demo.service", watch: ["/etc/demo/"], ports: [25] },
      { unit: "signer.service", watch: ["/etc/demo/a.conf"], onChange: "restart" },
      { unit: "idle.service", watch: ["/etc/idle/"] },
    ],
  };
  const facts: Facts = structuredClone(converged);
  facts.files["/etc/demo/a.conf"]!.sha256 = sha256("old\n");
  for (const u of ["signer.service", "idle.service"]) facts.units[u] = { active: "active", enabled: "enabled" };
  const a = roleActions(withMore, facts);
  assert.deepEqual(a.handlers.map((h) => h.name), ["postmap"]);
  assert.deepEqual(a.services, [{ unit: "demo.service", verb: "reload-or-restart" }, { unit: "signer.service", verb: "restart" }]);
  assert.deepEqual(a.health, [{ unit: "demo.service", ports: [25] }, { unit: "signer.service", ports: [] }]);
  assert.deepEqual(describeActions(a), ["/etc/demo/a.conf", "postmap", "reload-or-restart demo.service", "restart signer.service"]);
});

test("a stopped unit is restarted and a disabled one enabled, whatever changed; one meant to stay off is left alone", () => {
  const withOff: RoleState = { ...role, services: [...role.services!, { unit: "off.service", enabled: false, watch: [] }] };
  const facts: Facts = structuredClone(converged);
  facts.units["demo.service"] = { active: "failed", enabled: "disabled" };
  facts.units["off.service"] = { active: "inactive", enabled: "disabled" };
  const a = roleActions(withOff, facts);
  assert.deepEqual(a.services, [{ unit: "demo.service", verb: "enable" }, { unit: "demo.service", verb: "restart" }]);
  assert.deepEqual(a.health, [{ unit: "demo.service", ports: [] }]);
});
