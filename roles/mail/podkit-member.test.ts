// The root daemon podkit-member (roles/mail/templates/usr/local/sbin/podkit-member),
// rendered as the mail role writes it and run by Python with its file paths and
// doveadm replaced: its hashes are the ones Dovecot and podkit's own code check,
// and a member's password reaches doveadm on stdin only, never in its arguments.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { renderTemplate } from "../../lib/converge/template";
import { scramSha256 } from "../../lib/stack/passwords";
import { MEMBER_INVITES, MEMBER_KEY_CURVE, MEMBER_PASSWORDS, MEMBER_SOCKET, MEMBER_USERDB, MEMBERS_DIR, MEMBERS_GROUP } from "./members";

function daemon(release: "bookworm" | "trixie"): string {
  const dir = mkdtempSync(join(tmpdir(), "podkit-member-"));
  const members = {
    group: MEMBERS_GROUP, passwords: MEMBER_PASSWORDS, invites: MEMBER_INVITES, dir: MEMBERS_DIR, userdb: MEMBER_USERDB,
    curve: MEMBER_KEY_CURVE, socket: MEMBER_SOCKET, socketDir: "/run/podkit-member", dovecot24: release === "trixie",
  };
  const path = join(dir, "podkit-member");
  writeFileSync(path, renderTemplate("mail", "usr/local/sbin/podkit-member", { members }, release));
  return path;
}

/** Runs `body` (Python) with the daemon loaded as module `m`. */
function py(path: string, body: string): string {
  const driver = `import importlib.machinery, importlib.util, json, sys
loader = importlib.machinery.SourceFileLoader("m", ${JSON.stringify(path)})
spec = importlib.util.spec_from_loader("m", loader); m = importlib.util.module_from_spec(spec); loader.exec_module(m)
${body}`;
  return execFileSync("python3", ["-c", driver], { encoding: "utf8" });
}

test("podkit-member's SCRAM-SHA-256 entry is the one podkit writes for Dovecot, 600,000 rounds, and verifies only the right password", () => {
  const path = daemon("bookworm");
  const salt = Buffer.from("0123456789abcdef");
  const out = JSON.parse(py(path, `e = m.scram_entry("correct horse battery", b"0123456789abcdef")
print(json.dumps({"entry": e, "ok": m.verify(e, "correct horse battery"), "wrong": m.verify(e, "correct horse batterz"), "random": m.scram_entry("x" * 10)}))`));
  const { storedKey, serverKey } = scramSha256("correct horse battery", salt, 600_000);
  assert.equal(out.entry, `{SCRAM-SHA-256}600000,${salt.toString("base64")},${storedKey.toString("base64")},${serverKey.toString("base64")}`);
  assert.equal(out.ok, true);
  assert.equal(out.wrong, false);
  assert.notEqual(out.random.split(",")[1], salt.toString("base64"), "a real entry gets a random salt");
});

test("podkit-member refuses passwords shorter than 10, longer than 256 or with a control character, saying which", () => {
  const out = py(daemon("trixie"), `for p in ["short", "x" * 257, "line\\nbreak-here", "fine password"]:
    try:
        m.check_rule(p); print("ok")
    except m.Refused as e:
        print(e)`);
  assert.deepEqual(out.trim().split("\n"), [
    "the password is too short: at least 10 characters",
    "the password is too long: at most 256 characters",
    "the password contains a control character (a line break or a tab, say): type it without",
    "ok",
  ]);
});

for (const release of ["bookworm", "trixie"] as const) {
  test(`a member's password reaches doveadm on its standard input only, never in its arguments, for a new key pair and a change (${release})`, () => {
    const work = mkdtempSync(join(tmpdir(), "podkit-member-run-"));
    const log = join(work, "doveadm.log");
    const secret = "Sekrit-pass-4711";
    // doveadm replaced: each call's argv and stdin are logged; generate writes the attributes file
    // where -o puts it, password answers as Dovecot does.
    py(daemon(release), `import os, subprocess, pwd, types
m.SOCKET = ${JSON.stringify(join(work, "run", "member.sock"))}; os.makedirs(os.path.dirname(m.SOCKET))
m.VMAIL_HOME = ${JSON.stringify(join(work, "vhosts"))}
me = pwd.getpwuid(os.getuid()); m.pwd = types.SimpleNamespace(getpwnam=lambda n: me)
calls = []
def fake_run(cmd, input=None, **kw):
    calls.append({"argv": cmd, "stdin": input})
    for i, a in enumerate(cmd):
        if a == "-o" and ("dict_file_path=" in cmd[i + 1] or "mail_attribute_dict=file:" in cmd[i + 1]):
            open(cmd[i + 1].split("=", 1)[1].removeprefix("file:"), "w").write("keys\\n")
    out = "Changed password for 1 key(s)" if "password" in cmd else ""
    return types.SimpleNamespace(returncode=0, stdout=out, stderr="")
m.subprocess = types.SimpleNamespace(run=fake_run)
m.new_key_pair("carol@a.test", ${JSON.stringify(secret)})
m.rewrap_key("carol@a.test", ${JSON.stringify(secret)}, "Another-pass-0815")
open(${JSON.stringify(log)}, "w").write(json.dumps(calls))`);
    const calls: { argv: string[]; stdin: string | null }[] = JSON.parse(readFileSync(log, "utf8"));
    assert.ok(calls.some((c) => c.argv.includes("generate")), "a key pair is generated");
    for (const c of calls) {
      assert.ok(!c.argv.some((a) => a.includes(secret) || a.includes("Another-pass-0815")), `no password in ${c.argv.join(" ")}`);
    }
    const wraps = calls.filter((c) => c.argv.includes("password"));
    assert.equal(wraps.length, 2);
    assert.match(wraps[0].stdin ?? "", new RegExp(`\\n${secret}\\n${secret}\\n$`), "the new pair is wrapped with the member's password, from stdin");
    assert.equal(wraps[1].stdin, `${secret}\nAnother-pass-0815\nAnother-pass-0815\n`, "a change gives old, new, new on stdin");
    assert.equal(readFileSync(join(work, "vhosts", "a.test", "carol", "dovecot-attributes"), "utf8"), "keys\n", "the pair made on tmpfs lands in the home");
  });
}
