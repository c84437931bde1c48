// The check role's script and units, for every example stack, read by bash -n
// and systemd-analyze verify in each release's checker root; a typo in them stops
// there. (What the script finds and when it mails: test/unit/the-daily-check-*.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's check script passes bash -n and its units systemd-analyze verify (${release})`, async (t) => {
    await assertChecksPass(t, "check", release);
  });

  test(`a syntax error in podkit-check is refused by bash with its own message (${release})`, async () => {
    const r = await checkEdited("check", "/usr/local/sbin/podkit-check", (c) => c.replace("check_clock() {", "check_clock() {\n  if then"), release);
    assert.equal(r.refused, "bash -n", r.output);
    assert.match(r.output, /syntax error near unexpected token `then'/, r.output);
  });

  test(`a typo in podkit-check.service is refused by systemd-analyze verify with systemd's own message (${release})`, async () => {
    const r = await checkEdited("check", "/etc/systemd/system/podkit-check.service", (c) => c.replace("ExecStart=/usr/local/sbin/", "ExecStart=usr/local/sbin/"), release);
    assert.equal(r.refused, "systemd-analyze verify", r.output);
    assert.match(r.output, /Neither a valid executable name nor an absolute path: usr\/local\/sbin\/podkit-check/, r.output);
  });
}
