// The mail role's Postfix, Dovecot, OpenDKIM and OpenDMARC configs, for every
// example stack, loaded by each daemon's own checker in each release's checker root; a
// typo in main.cf or dovecot.conf stops at Postfix or Dovecot.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, hostsWith, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's mail config passes postfix check, doveconf, opendkim -n and opendmarc -n (${release})`, async (t) => {
    await assertChecksPass(t, "mail", release);
  });

  test(`a typo in main.cf is refused by postfix check with postfix's own message (${release})`, async () => {
    const r = await checkEdited("mail", "/etc/postfix/main.cf", (c) => c.replace(/^inet_protocols = .*$/m, "inet_protocols = ipv5"), release);
    assert.equal(r.refused, "postfix check", r.output);
    assert.match(r.output, /postfix: fatal: unknown inet_protocols value "ipv5"/, r.output);
  });

  test(`a typo in dovecot.conf is refused by doveconf with its own message (${release})`, async () => {
    const r = await checkEdited("mail", "/etc/dovecot/dovecot.conf", (c) => c.replace(/^protocols = /m, "protocol = "), release);
    assert.equal(r.refused, "doveconf", r.output);
    assert.match(r.output, /Unknown setting: protocol/, r.output);
  });
}

test("Dovecot 2.4 refuses the Debian 12 dovecot.conf, which is why a trixie host gets templates.trixie's", async () => {
  const [{ state: bookworm }] = hostsWith("mail", "bookworm");
  const old = bookworm.files.find((f) => f.path === "/etc/dovecot/dovecot.conf")!.content;
  const r = await checkEdited("mail", "/etc/dovecot/dovecot.conf", () => old, "trixie");
  assert.equal(r.refused, "doveconf", r.output);
  assert.match(r.output, /dovecot_config_version/, r.output);
});
