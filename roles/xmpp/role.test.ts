// The xmpp role's Prosody config, for every example stack, loaded by
// prosodyctl in each release's checker root; a typo in it stops at prosodyctl.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";

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
