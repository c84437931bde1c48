// Member-owned accounts in the mail role's rendered files: a member's mail is
// encrypted with a key their login password unlocks, an account whose password
// the stack sets is stored as before, and no file gives an account an empty
// password field (in a Dovecot passwd-file, that can mean "any password").
import assert from "node:assert/strict";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { loadStackFile } from "../../lib/stack/load";
import { REPO_ROOT } from "../../lib/paths";
import { RELEASES } from "../../lib/stack/releases";
import { newDkimKey } from "../../lib/stack/secrets";
import { join } from "node:path";
import { mail } from "./role";
import { MEMBER_PASSWORDS, MEMBER_USERDB } from "./members";

const dkim = newDkimKey();

/** stacks/hetzner.yaml's mail host with carol@example.org added without a password, rendered for `release`. */
function render(release: string) {
  const loaded = loadStackFile(join(REPO_ROOT, "stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  const stack = structuredClone(loaded.stack);
  const sam = stack.accounts["sam@example.org"];
  stack.accounts["carol@example.org"] = { ...sam, password: undefined, aliases: [], forward: [], admin: false };
  const secret = (name: string) => (name.includes("dkim") ? dkim : `secret-of-${name}`);
  const state = mail.state(roleContext(stack, stack.mail!.host, secret, { ...HCLOUD_PROFILE, release }));
  const file = (path: string) => {
    const f = state.files.find((x) => x.path === path);
    assert.ok(f, `the mail role writes ${path}`);
    return f.content;
  };
  return { state, file };
}

for (const { codename: release, dovecot } of RELEASES) {
  test(`a member-owned account's mail is encrypted with a key its login password unlocks; an admin-set account's is not (${release})`, () => {
    const { file } = render(release);
    const users = file("/etc/dovecot/users");
    const members = file(MEMBER_USERDB);
    const conf = file("/etc/dovecot/dovecot.conf");
    const line = (text: string, address: string) => text.split("\n").find((l) => l.startsWith(`${address}:`));

    // carol: only in the members' userdb, with encryption on; sam: only in the users file, without.
    assert.equal(line(users, "carol@example.org"), undefined, "carol has no line (and so no password) in /etc/dovecot/users");
    const carol = line(members, "carol@example.org");
    assert.ok(carol, "carol is in the members' userdb");
    assert.match(carol, dovecot === "2.4" ? /userdb_crypt_write_algorithm=aes-256-gcm-sha256/ : /userdb_mail_crypt_save_version=2/);
    assert.match(carol, dovecot === "2.4" ? /userdb_mail_index_path=MEMORY/ : /INDEX=MEMORY/, "no index cache of carol's decrypted headers on disk");
    assert.equal(line(members, "sam@example.org"), undefined, "sam's mail is not encrypted");
    assert.match(line(users, "sam@example.org") ?? "", /^sam@example\.org:\{SCRAM-SHA-256\}600000,/);

    // Globally nothing new is encrypted; the members' passdb hands the login password to mail_crypt.
    if (dovecot === "2.4") {
      assert.match(conf, /^crypt_write_algorithm =\s*$/m);
      assert.match(conf, /^crypt_user_key_require_encrypted = yes$/m);
      assert.match(conf, new RegExp(`passdb members \\{[^}]*passwd_file_path = ${MEMBER_PASSWORDS}[^}]*fields \\{\\s*userdb_crypt_user_key_password = %\\{password\\}`));
    } else {
      assert.match(conf, /^\s*mail_crypt_save_version = 0$/m);
      assert.match(conf, /^\s*mail_crypt_require_encrypted_user_key = yes$/m);
      assert.match(conf, new RegExp(`args = scheme=SCRAM-SHA-256 username_format=%Lu ${MEMBER_PASSWORDS}\\n\\s*override_fields = userdb_mail_crypt_private_password=%w`));
    }
    assert.match(conf, /^auth_mechanisms = plain login$/m, "only plaintext mechanisms: Dovecot must see the password to unlock the key");
  });

  test(`no account gets an empty password field in any Dovecot passwd-file (${release})`, () => {
    const { file } = render(release);
    for (const path of ["/etc/dovecot/users", MEMBER_USERDB]) {
      for (const l of file(path).split("\n").filter((x) => x && !x.startsWith("#"))) {
        assert.doesNotMatch(l, /^[^:]+::/, `${path}: ${l.slice(0, 40)}`);
      }
    }
  });
}

test("the mail role creates the group podkit-members and the members' store, root-owned and closed to others", () => {
  const { state } = render(RELEASES[0].codename);
  assert.deepEqual(state.groups, [{ name: "podkit-members" }]);
  const dir = (p: string) => state.dirs?.find((d) => d.path === p);
  assert.deepEqual(dir("/var/lib/podkit/members"), { path: "/var/lib/podkit/members", mode: 0o750, owner: "root", group: "podkit-members" });
  assert.deepEqual(dir("/var/lib/podkit/members/invites"), { path: "/var/lib/podkit/members/invites", mode: 0o700, owner: "root", group: "root" });
  assert.ok(state.services?.some((s) => s.unit === "podkit-member.service"));
  assert.ok(state.handlers?.some((h) => h.run === "/usr/local/sbin/podkit-member prune" && h.when.includes(MEMBER_USERDB)));
});
