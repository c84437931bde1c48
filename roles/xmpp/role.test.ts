// The xmpp role's Prosody config, for every example stack, loaded by
// prosodyctl in each release's checker root; a typo in it stops at prosodyctl.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { assertChecksPass, checkEdited, hostWithStack, RELEASE_CODENAMES } from "../../test/config/role-checks";

/** A value that would be Lua code were it written as Lua rather than as a string: it would leave a file behind. */
const CODE = String.raw`" .. os.execute("touch /tmp/ran") .. " " ]] --`;

/**
 * Prints the global options prosody.cfg.lua sets, as Prosody reads them: the file run in an
 * environment of its own, stopped at the first VirtualHost (what follows is that host's).
 */
const GLOBALS = String.raw`lua5.4 -e '
local env = setmetatable({}, { __index = _G })
env.VirtualHost = function() error("first VirtualHost", 0) end
local chunk = assert(loadfile("/etc/prosody/prosody.cfg.lua", "t", env))
print(pcall(chunk))
for _, k in ipairs({ "max_archive_query_results", "c2s_require_encryption", "motd_text", "modules_disabled" }) do
  local v = env[k]
  print(k, type(v) == "table" and table.concat(v, "|") or tostring(v))
end'`;

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's Prosody config passes prosodyctl check config (${release})`, async (t) => {
    await assertChecksPass(t, "xmpp", release);
  });

  test(`a typo in prosody.cfg.lua is refused by prosodyctl with its own message (${release})`, async () => {
    const r = await checkEdited("xmpp", "/etc/prosody/prosody.cfg.lua", (c) => c.replace("modules_disabled = {", "modules_disabled = "), release);
    assert.equal(r.refused, "prosodyctl check config", r.output);
    assert.match(r.output, /prosody\.cfg\.lua:\d+: unexpected symbol near '"dialback"'/, r.output);
  });
}

for (const release of RELEASE_CODENAMES) {
  test(`chat.prosody options are Prosody's last global word, as Lua strings, numbers, booleans and lists: a value that is Lua code stays text (${release})`, async () => {
    const { host, state } = hostWithStack("xmpp", release, (s) => {
      s.chat!.prosody = { max_archive_query_results: 500, c2s_require_encryption: false, motd_text: CODE, modules_disabled: ["register", "dialback", "s2s_bidi", CODE] };
    });
    const out = await withHostRoot(host, async (root) => {
      const checked = await root.check(state);
      assert.ok(checked.ok, checked.output);
      return (await root.sh(`${GLOBALS}\ntest -e /tmp/ran && echo RAN; true`)).output;
    });
    assert.equal(out, [
      "false\tfirst VirtualHost",
      "max_archive_query_results\t500",
      "c2s_require_encryption\tfalse",
      `motd_text\t${CODE}`,
      `modules_disabled\tregister|dialback|s2s_bidi|${CODE}`,
      "",
    ].join("\n"));
  });
}

for (const release of RELEASE_CODENAMES) {
  test(`a chat.prosody option prosodyctl finds a problem with never goes live: an old guide's use_libevent is refused with Prosody's advice (${release})`, async () => {
    const { host, state } = hostWithStack("xmpp", release, (s) => { s.chat!.prosody = { use_libevent: true }; });
    const r = await withHostRoot(host, (root) => root.check(state));
    assert.equal(r.refused, "prosodyctl check config", r.output);
    assert.match(r.output, /'use_libevent' -- instead, use 'network_backend = "event"'/, r.output);
  });
}
