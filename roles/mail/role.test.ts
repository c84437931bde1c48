// The mail role's Postfix, Dovecot, rspamd and Redis configs and its Sieve
// scripts, for every example stack, loaded by each daemon's own checker in each
// release's checker root; a typo in any of them stops at that daemon's checker.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, hostsWith, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's mail config passes postfix check, doveconf, rspamadm configtest, redis-server and sievec (${release})`, async (t) => {
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

  test(`a typo in an rspamd file is refused by rspamadm configtest with rspamd's own message (${release})`, async () => {
    const r = await checkEdited("mail", "/etc/rspamd/local.d/actions.conf", (c) => c.replace(/^reject = (.*);$/m, 'reject = "$1;'), release);
    assert.equal(r.refused, "rspamadm configtest", r.output);
    assert.match(r.output, /ucl parser error: .*local\.d\/actions\.conf.*syntax BAD/s, r.output);
  });

  test(`an error in rspamd.local.lua is refused by rspamadm configtest with the Lua error (${release})`, async () => {
    const r = await checkEdited("mail", "/etc/rspamd/rspamd.local.lua", (c) => c.replace('local lua_util = require "lua_util"', 'local lua_util = require "lua_util" +'), release);
    assert.equal(r.refused, "rspamadm configtest", r.output);
    assert.match(r.output, /rspamd\.local\.lua:\d+: unexpected symbol/, r.output);
  });

  test(`a typo in redis.conf is refused by redis-server with its own message (${release})`, async () => {
    const r = await checkEdited("mail", "/etc/redis/redis.conf", (c) => c.replace(/^maxmemory-policy .*$/m, "maxmemory-policy sometimes"), release);
    assert.equal(r.refused, "redis-server", r.output);
    assert.match(r.output, /FATAL CONFIG FILE ERROR/, r.output);
  });

  test(`a typo in a global sieve script is refused by sievec with its own message (${release})`, async () => {
    const r = await checkEdited("mail", "/etc/dovecot/sieve/spam-to-junk.sieve", (c) => c.replace('fileinto :create "Junk";', 'fileinto :create "Junk"'), release);
    assert.equal(r.refused, "sievec", r.output);
    assert.match(r.output, /spam-to-junk: line \d+: error/, r.output);
  });
}

test("Dovecot 2.4 refuses the Debian 12 dovecot.conf, which is why a trixie host gets templates.trixie's", async () => {
  const [{ state: bookworm }] = hostsWith("mail", "bookworm");
  const old = bookworm.files.find((f) => f.path === "/etc/dovecot/dovecot.conf")!.content;
  const r = await checkEdited("mail", "/etc/dovecot/dovecot.conf", () => old, "trixie");
  assert.equal(r.refused, "doveconf", r.output);
  assert.match(r.output, /dovecot_config_version/, r.output);
});
