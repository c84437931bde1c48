// The mail role's Postfix, Dovecot, rspamd and Redis configs and its Sieve
// scripts, for every example stack, loaded by each daemon's own checker in each
// release's checker root; a typo in any of them stops at that daemon's checker.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { assertChecksPass, checkEdited, hostsWith, hostWithStack, RELEASE_CODENAMES } from "../../test/config/role-checks";

/** A value Dovecot's own syntax would read as a comment, a section, quotes and a continued line, were it not quoted. */
const AWKWARD = String.raw`Hi "pod" # not a comment { \ `;

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

for (const release of RELEASE_CODENAMES) {
  test(`mail.dovecot settings are the last word in dovecot.conf, and Dovecot uses them as written (a greeting with quotes, # and \\ reaches the client whole) (${release})`, async () => {
    const { host, state } = hostWithStack("mail", release, (s) => { s.mail!.dovecot = { login_greeting: AWKWARD, auth_verbose: true, mail_max_keyword_length: 40 }; });
    const out = await withHostRoot(host, async (root) => {
      const checked = await root.check(state);
      assert.ok(checked.ok, checked.output);
      // The greeting as an IMAP client reads it, from Dovecot started on this config.
      return (await root.sh(`doveconf -h auth_verbose mail_max_keyword_length
mkdir -p /var/spool/postfix/private; dovecot -F >/dev/null 2>&1 &
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/993) 2>/dev/null && break; sleep 0.1; done
printf 'a LOGOUT\\r\\n' | timeout 5 openssl s_client -connect 127.0.0.1:993 -quiet -ign_eof 2>/dev/null | tr -d '\\r' | grep '^\\* OK'
doveadm stop >/dev/null 2>&1; wait`)).output;
    });
    assert.match(out, /^yes\n40\n\* OK \[CAPABILITY [^\]]*\] (.*)\n$/, out);
    assert.equal(/\] (.*)\n$/.exec(out)![1], AWKWARD, "the greeting is the value, every character of it");
  });
}

test("a Dovecot 2.3 setting name is refused by Dovecot 2.4's doveconf, and a 2.4 one by 2.3's: mail.dovecot names the release's settings", async () => {
  const trixie = hostWithStack("mail", "trixie", (s) => { s.mail!.dovecot = { ssl_cert: "</etc/dovecot/private/dovecot.pem" }; });
  const r24 = await withHostRoot(trixie.host, (root) => root.check(trixie.state));
  assert.equal(r24.refused, "doveconf", r24.output);
  assert.match(r24.output, /dovecot\.conf line \d+: ssl_cert: Unknown setting: ssl_cert/, r24.output);
  const bookworm = hostWithStack("mail", "bookworm", (s) => { s.mail!.dovecot = { ssl_server_cert_file: "/etc/dovecot/private/dovecot.pem" }; });
  const r23 = await withHostRoot(bookworm.host, (root) => root.check(bookworm.state));
  assert.equal(r23.refused, "doveconf", r23.output);
  assert.match(r23.output, /Unknown setting: ssl_server_cert_file/, r23.output);
});

test("Dovecot 2.4 refuses the Debian 12 dovecot.conf, which is why a trixie host gets templates.trixie's", async () => {
  const [{ state: bookworm }] = hostsWith("mail", "bookworm");
  const old = bookworm.files.find((f) => f.path === "/etc/dovecot/dovecot.conf")!.content;
  const r = await checkEdited("mail", "/etc/dovecot/dovecot.conf", () => old, "trixie");
  assert.equal(r.refused, "doveconf", r.output);
  assert.match(r.output, /dovecot_config_version/, r.output);
});
