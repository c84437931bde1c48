// The backup role's systemd units, for every example stack with backups,
// loaded by systemd-analyze verify in each release's checker root; a typo in them stops
// there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's backup units pass systemd-analyze verify (${release})`, async (t) => {
    await assertChecksPass(t, "backup", release);
  });

  test(`a typo in podkit-backup.service is refused by systemd-analyze verify with systemd's own message (${release})`, async () => {
    // A bad value of a known key (Type=oneshoot) is only a warning to systemd; a command that is not a path is refused.
    const r = await checkEdited("backup", "/etc/systemd/system/podkit-backup.service", (c) => c.replace("ExecStart=/usr/local/sbin/", "ExecStart=usr/local/sbin/"), release);
    assert.equal(r.refused, "systemd-analyze verify", r.output);
    assert.match(r.output, /Neither a valid executable name nor an absolute path: usr\/local\/sbin\/podkit-backup/, r.output);
  });
}
