// The base role's firewall and sshd drop-in, for every example stack, loaded by
// nft and sshd in the checker root; a typo in the ruleset stops at nft.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited } from "../../test/config/role-checks";

test("every example stack's firewall and sshd config pass nft -c and sshd -t", async (t) => {
  await assertChecksPass(t, "base");
});

test("a typo in nftables.conf is refused by nft with its own message", async () => {
  const r = await checkEdited("base", "/etc/nftables.conf", (c) => c.replace("policy drop;", "policy dorp;"));
  assert.equal(r.refused, "nft -c", r.output);
  assert.match(r.output, /syntax error, unexpected string, expecting accept or drop/, r.output);
});
