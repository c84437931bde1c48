// A value in the stack file is data wherever it lands: a shell that sources or
// runs a rendered file never runs it, and a line break never adds a line to a
// file whose language has no quoting (Postfix tables, main.cf, Prosody's
// groups.txt). Each injection is shown twice: the loader refuses the value with
// file:line:column, and the role, handed the value anyway (a stack edited in
// code), renders it inertly or refuses naming the field.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseDocument } from "yaml";
import { roleContext } from "../../lib/converge/pod";
import type { RoleState } from "../../lib/converge/types";
import { loadStackFile } from "../../lib/stack/load";
import type { Stack } from "../../lib/stack/schema";
import { backup } from "../../roles/backup/role";
import { mail } from "../../roles/mail/role";
import { tls } from "../../roles/tls/role";
import { xmpp } from "../../roles/xmpp/role";
import { profileOf } from "./host-profiles";

const EXAMPLE = "stacks/hetzner.yaml";
const dir = mkdtempSync(join(tmpdir(), "podkit-inject-"));
/** A command whose only effect is a file appearing: proof that it ran. */
const marker = (name: string) => join(dir, name);
const ran = (name: string) => existsSync(marker(name));

/** The example stack with one value replaced in the YAML, as `podkit validate` loads it. */
function loadWith(path: (string | number)[], value: unknown) {
  const doc = parseDocument(readFileSync(EXAMPLE, "utf8"));
  doc.setIn(path, value);
  const file = join(dir, `${path.join("-").replace(/[^a-z0-9-]/gi, "_")}.yaml`);
  writeFileSync(file, doc.toString());
  return { file, loaded: loadStackFile(file) };
}

function assertRefusedAt(path: (string | number)[], value: unknown, field: string) {
  const { file, loaded } = loadWith(path, value);
  assert.equal(loaded.ok, false, `${field} = ${JSON.stringify(value)} is refused`);
  const p = !loaded.ok && loaded.problems.find((x) => x.field === field);
  assert.ok(p, `a problem names ${field}: ${JSON.stringify(!loaded.ok && loaded.problems)}`);
  assert.equal(p.file, file);
  assert.ok(p.line > 1 && p.column >= 1, `located: ${p.line}:${p.column}`);
  assert.doesNotMatch(p.message, /\n/, "one line");
}

/** The example stack, valid, then edited after validation: what a role must survive. */
function stackWith(edit: (s: Stack) => void): Stack {
  const loaded = loadStackFile(EXAMPLE);
  assert.ok(loaded.ok);
  const stack = structuredClone(loaded.stack);
  edit(stack);
  return stack;
}

function render(role: { state: (ctx: ReturnType<typeof roleContext>) => RoleState }, stack: Stack): RoleState | Error {
  try {
    return role.state(roleContext(stack, "mx", (n) => `secret-${n}`, profileOf(stack, "mx")));
  } catch (err) {
    return err as Error;
  }
}

const fileOf = (state: RoleState, path: string) => state.files.find((f) => f.path === path)!.content;

test("an ACME directory with $(...) in it is refused, and the sourced request file never runs it", () => {
  const directory = `https://acme.example/"$(touch ${marker("tls")})"`;
  assertRefusedAt(["tls", "acme", "directory"], directory, "tls.acme.directory");
  assertRefusedAt(["tls", "acme", "directory"], "http://acme.example/dir", "tls.acme.directory");

  const state = render(tls, stackWith((s) => { s.tls.acme.directory = directory; }));
  assert.ok(!(state instanceof Error), String(state));
  const request = join(dir, "request");
  writeFileSync(request, fileOf(state, "/etc/podkit/tls/request"));
  // What podkit-cert does with it: source it, then use $SERVER.
  const r = spawnSync("sh", ["-c", `. ${request}; printf '%s' "$SERVER"`], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(ran("tls"), false, "the command in the directory URL did not run");
  assert.equal(r.stdout, directory, "the script sees the URL as written");
});

test("an SFTP host or user with shell syntax is refused, and the backup script, key handler and pin script never run it", () => {
  assertRefusedAt(["backup", "target", "sftp", "host"], "box.example;reboot", "backup.target.sftp.host");
  assertRefusedAt(["backup", "target", "sftp", "user"], "u1 $(reboot)", "backup.target.sftp.user");
  assertRefusedAt(["backup", "target", "sftp", "path"], "../../etc", "backup.target.sftp.path");

  const state = render(backup, stackWith((s) => {
    s.backup!.target.sftp!.host = `box.example$(touch ${marker("sftp-host")})`;
    s.backup!.target.sftp!.user = `u1\`touch ${marker("sftp-user")}\``;
  }));
  assert.ok(!(state instanceof Error), String(state));
  // The daily script's r(): call it with restic replaced by a function that prints its arguments.
  const script = fileOf(state, "/usr/local/sbin/podkit-backup");
  const rLine = script.split("\n").find((l) => l.startsWith("r() {"))!;
  // (bash reads the script on stdin: the programs it calls are stand-ins defined in it.)
  const r = spawnSync("bash", ["-s"], { input: `restic() { printf '%s\\n' "$@"; }\n${rLine}\nr snapshots\n`, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sftp\.command=ssh .* u1`touch .*`@box\.example\$\(touch .*\) -s sftp$/m, "restic gets host and user as written");
  // The key handler, with ssh-keygen a no-op.
  const handler = state.handlers!.find((h) => h.name === "backup SSH key")!;
  spawnSync("bash", ["-s"], { input: `ssh-keygen() { :; }\n${handler.run}\n`, encoding: "utf8" });
  // The pin script, with the tools it calls no-ops: it stops at the fingerprint comparison.
  const pin = join(dir, "pin");
  writeFileSync(pin, fileOf(state, "/usr/local/sbin/podkit-backup-pin-host-key"));
  spawnSync("sh", ["-c", `ssh-keyscan() { :; }; ssh-keygen() { :; }; . ${pin}`], { encoding: "utf8" });
  assert.equal(ran("sftp-host"), false, "the command in the host did not run");
  assert.equal(ran("sftp-user"), false, "the command in the user did not run");
});

test("a line break in the relay login is refused, and never adds an entry to sasl_passwd", () => {
  const username = "citymail\n[evil.example]:25 thief";
  assertRefusedAt(["mail", "relay", "username"], username, "mail.relay.username");
  assertRefusedAt(["mail", "relay", "username"], "city mail", "mail.relay.username");

  const state = render(mail, stackWith((s) => { s.mail!.relay!.username = username; }));
  if (state instanceof Error) assert.match(state.message, /mail\.relay\.username/);
  else assert.doesNotMatch(fileOf(state, "/etc/postfix/sasl_passwd"), /^\[evil\.example\]/m);
});

test("a line break in a mail.postfix value is refused, and never adds a main.cf parameter", () => {
  const value = "10240000\nrelayhost = [evil.example]";
  assertRefusedAt(["mail", "postfix", "message_size_limit"], value, "mail.postfix.message_size_limit");

  const state = render(mail, stackWith((s) => { s.mail!.postfix = { message_size_limit: value }; }));
  if (state instanceof Error) assert.match(state.message, /mail\.postfix\.message_size_limit/);
  else assert.doesNotMatch(fileOf(state, "/etc/postfix/main.cf"), /^relayhost = \[evil/m);
});

test("a mail.dovecot value is Dovecot text: a line break or a <file path with a comment in it is refused, and a quote, # or { stays inside the value", () => {
  assertRefusedAt(["mail", "dovecot", "login_greeting"], "Hi\n}\n!include /etc/shadow", "mail.dovecot.login_greeting");
  assertRefusedAt(["mail", "dovecot", "ssl_cert"], "</etc/ssl/x.pem # mine", "mail.dovecot.ssl_cert");
  assertRefusedAt(["mail", "dovecot", "ssl cert"], "x", 'mail.dovecot["ssl cert"]');

  const state = render(mail, stackWith((s) => { s.mail!.dovecot = { login_greeting: 'Hi" }\nservice x {', auth_verbose: true }; }));
  assert.ok(state instanceof Error && /mail\.dovecot\.login_greeting/.test(state.message), String(state));
  const conf = fileOf(render(mail, stackWith((s) => {
    s.mail!.dovecot = { login_greeting: 'Hi "pod" # { \\', ssl_cert: "</etc/dovecot/private/dovecot.pem", auth_verbose: true };
  })) as RoleState, "/etc/dovecot/dovecot.conf");
  assert.match(conf, /\nlogin_greeting = "Hi \\"pod\\" # \{ \\\\"\nssl_cert = <\/etc\/dovecot\/private\/dovecot\.pem\nauth_verbose = yes\n$/);
  // Handed a name that is not one (a stack edited in code), the role refuses it.
  const named = render(mail, stackWith((s) => { s.mail!.dovecot = { "x = 1\nservice imap-login {": 1 }; }));
  assert.ok(named instanceof Error && /mail\.dovecot/.test(named.message), String(named));
});

test("a chat.prosody value is a Lua literal: Lua in it stays a string, and a Lua keyword or code as an option name is refused", () => {
  assertRefusedAt(["chat", "prosody", "motd_text"], 'hi"\nos.execute("id")', "chat.prosody.motd_text");
  assertRefusedAt(["chat", "prosody", "end"], 1, "chat.prosody.end");
  assertRefusedAt(["chat", "prosody", "ssl"], { certificate: "/x" }, "chat.prosody.ssl");

  const code = '" .. os.execute("touch /tmp/x") .. "\\';
  const cfg = fileOf(render(xmpp, stackWith((s) => { s.chat!.prosody = { motd_text: code, limits_exempt: [code], max_archive_query_results: 9 }; })) as RoleState, "/etc/prosody/prosody.cfg.lua");
  const quoted = '" .. os.execute(\\"touch /tmp/x\\") .. \\"\\\\"';
  assert.ok(cfg.includes(`\nmotd_text = "\\${quoted}\nlimits_exempt = { "\\${quoted}; }\nmax_archive_query_results = 9\n`), cfg);
  assert.ok(cfg.indexOf("max_archive_query_results = 9") < cfg.indexOf("\nVirtualHost \""), "a global option, before the first VirtualHost");
  for (const name of ["os.execute", "end", "x = 1 --"]) {
    const state = render(xmpp, stackWith((s) => { s.chat!.prosody = { [name]: 1 }; }));
    assert.ok(state instanceof Error && /chat\.prosody/.test(state.message), `${name}: ${String(state)}`);
  }
});

test("a line break in an account or group display name is refused, and never adds a group or member to groups.txt", () => {
  const name = "Sam\n[Evil]\nmallory@evil.example=Mallory";
  assertRefusedAt(["accounts", "sam@example.org", "name"], name, 'accounts["sam@example.org"].name');
  assertRefusedAt(["groups", "volunteers", "name"], name, "groups.volunteers.name");
  assertRefusedAt(["groups", "volunteers", "name"], "Vol]unteers", "groups.volunteers.name");

  for (const edit of [
    (s: Stack) => { s.accounts["sam@example.org"].name = name; },
    (s: Stack) => { s.groups.volunteers.name = name; },
  ]) {
    const state = render(xmpp, stackWith(edit));
    if (state instanceof Error) assert.match(state.message, /name/);
    else assert.doesNotMatch(fileOf(state, "/etc/prosody/groups.txt"), /^(\[Evil\]|mallory@)/m);
  }
});
