// The xmpp role's Prosody config, for every example stack, loaded by
// prosodyctl in each release's checker root; a typo in it stops at prosodyctl.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { dovecotScramSha256 } from "../../lib/stack/passwords";
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

/**
 * mod_auth_podkit loaded by itself, with Prosody's own libraries of the release and a stand-in for
 * the module API: internal_hashed's provider stands in for the stack accounts (sam), the member
 * files are what the role and podkit-member write. Prints one line per finding.
 */
const AUTH_MODULE_CHECK = String.raw`
package.path = "/usr/lib/prosody/?.lua;" .. package.path
package.cpath = "/usr/lib/prosody/?.so;" .. package.cpath
pcall(require, "loader") -- Prosody 13: require "prosody.util.x" finds util.x
local base64 = require "util.encodings".base64
local provider, tick
local sessions = { dora = { sessions = { s1 = { close = function () print("closed dora's session") end } } } }
local stack = { name = "internal_hashed", users = function () return coroutine.wrap(function () coroutine.yield("sam") end) end,
  user_exists = function (u) return u == "sam" or nil end, test_password = function (u, p) return u == "sam" and p == "sam password" or nil end,
  get_sasl_handler = function () return { profile = { plain_test = function (_, u, p) return u == "sam" and p == "sam password" or nil, true end } } end }
local module = { host = "example.org" }
function module:get_option_string(_, default) return default end
function module:depends() end
function module:get_host_items() return { stack } end
function module:log(level, ...) print(level, string.format(...)) end
function module:add_timer(_, f) tick = f end
function module:provides(_, p) provider = p end
local env = setmetatable({ module = module, prosody = { hosts = { ["example.org"] = { sessions = sessions } } } }, { __index = _G })
assert(loadfile("/usr/local/lib/prosody/modules/mod_auth_podkit.lua", "t", env))()
local function say(what, ...) print(what, ...) end
say("carol exists", provider.user_exists("carol"))
say("dora exists", provider.user_exists("dora"))
say("erin exists", provider.user_exists("erin"))
say("sam exists", provider.user_exists("sam"))
say("carol right", provider.test_password("carol", "carol password"))
say("carol wrong", provider.test_password("carol", "carol passwort"))
say("dora any", provider.test_password("dora", "any"))
local profile = provider.get_sasl_handler().profile
say("plain carol", profile.plain_test(nil, "carol", "carol password", "example.org"))
say("plain sam", profile.plain_test(nil, "sam", "sam password", "example.org"))
local stored, server, iterations, salt, enabled = profile.scram_sha_256(nil, "carol", "example.org")
-- The same function internal_hashed stores an account file's keys with (password_hash = "SHA-256").
local ok, want_stored, want_server = require "util.sasl.scram".hashers["SHA-256"]("carol password", salt, iterations)
say("scram carol", iterations, base64.encode(salt), stored == want_stored and server == want_server, enabled)
say("scram dora", profile.scram_sha_256(nil, "dora", "example.org"))
say("create carol", provider.create_user("carol", "x"))
say("set carol", provider.set_password("carol", "x"))
-- podkit-member replaces the file (a new inode; a line it should not have is skipped), the role adds erin and removes dora.
local f = io.open("/tmp/passwords.new", "w")
f:write((io.open("/var/lib/podkit/members/passwords"):read("a"):gsub("^carol", "erin")), "frank@example.org:{PLAIN}x\n"); f:close()
os.rename("/tmp/passwords.new", "/var/lib/podkit/members/passwords")
f = io.open("/etc/podkit/xmpp/member-accounts", "w"); f:write("carol@example.org\nerin@example.org\n"); f:close()
say("erin right", provider.test_password("erin", "carol password"))
say("carol now", provider.test_password("carol", "carol password"))
tick()
say("dora exists", provider.user_exists("dora"))
local users = {}; for u in provider.users() do users[#users + 1] = u end; table.sort(users)
say("users", table.concat(users, " "))
`;

for (const release of RELEASE_CODENAMES) {
  test(`mod_auth_podkit checks a member's password against the record podkit-member writes, and offers SCRAM-SHA-256 the keys Prosody's own hasher derives (${release})`, async () => {
    const { host, state } = hostWithStack("xmpp", release, (s) => {
      const { password: _, ...noor } = s.accounts["noor@example.org"];
      s.accounts["carol@example.org"] = { ...noor, name: "Carol" };
      s.accounts["dora@example.org"] = { ...noor, name: "Dora" };
    });
    const line = dovecotScramSha256("carol@example.org", "carol password", "salt key", 4096);
    const [, salt] = line.match(/^\{SCRAM-SHA-256\}4096,([^,]+),/)!;
    assert.equal(state.files.find((f) => f.path === "/etc/podkit/xmpp/member-accounts")?.content.split("\n").filter((l) => l && !l.startsWith("#")).join(" "),
      "carol@example.org dora@example.org");
    const out = await withHostRoot(host, (root) => root.sh(`mkdir -p /var/lib/podkit/members && echo 'carol@example.org:${line}' > /var/lib/podkit/members/passwords
lua5.4 -e '${AUTH_MODULE_CHECK.replaceAll("'", `'"'"'`)}' 2>&1`));
    assert.equal(out.output, [
      "carol exists\ttrue",
      "dora exists\ttrue",
      "erin exists\tnil",
      "sam exists\ttrue",
      "carol right\ttrue",
      "carol wrong\tnil\tAuth failed. Invalid username or password.",
      "dora any\tnil\tNo password set yet.",
      "plain carol\ttrue\ttrue",
      "plain sam\ttrue\ttrue",
      `scram carol\t4096\t${salt}\ttrue\ttrue`,
      "scram dora",
      "create carol\tnil\tThe member sets this account's password (podkit-member), not Prosody.",
      "set carol\tnil\tThe member sets this account's password (podkit-member), not Prosody.",
      "warn\tA line of /var/lib/podkit/members/passwords is not a {SCRAM-SHA-256} entry: ignored",
      "erin right\ttrue",
      "carol now\tnil\tNo password set yet.",
      "closed dora's session",
      "dora exists\tnil",
      "users\tcarol erin sam",
      "",
    ].join("\n"));
  });
}
