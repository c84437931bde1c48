// The web role's HTTPS server blocks, for every example stack, loaded by
// nginx -t in each release's checker root with the host's certificate in place; a typo in
// them stops at nginx. The member pages' unit is read by systemd-analyze verify, and
// their service's script by the release's own python3.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's MTA-STS, autoconfig and member pages pass nginx -t, systemd-analyze verify and python3 (${release})`, async (t) => {
    await assertChecksPass(t, "web", release);
  });

  test(`a typo in podkit.d/web.conf is refused by nginx with its own message (${release})`, async () => {
    const r = await checkEdited("web", "/etc/nginx/podkit.d/web.conf", (c) => c.replace("ssl_certificate_key", "ssl_certificate_kye"), release);
    assert.equal(r.refused, "nginx -t", r.output);
    assert.match(r.output, /unknown directive "ssl_certificate_kye"/, r.output);
  });

  test(`a typo in podkit-account-web.service is refused by systemd-analyze verify (${release})`, async () => {
    const r = await checkEdited("web", "/etc/systemd/system/podkit-account-web.service", (c) => c.replace("DynamicUser=yes", "DynamicUser=yess"), release);
    assert.equal(r.refused, "systemd-analyze verify", r.output);
    assert.match(r.output, /yess/, r.output);
  });

  test(`a syntax error in podkit-account-web is refused by the release's python3 (${release})`, async () => {
    const r = await checkEdited("web", "/usr/local/lib/podkit/podkit-account-web", (c) => c.replace("def post(self):", "def post(self)"), release);
    assert.equal(r.refused, "python3 compiles podkit-account-web", r.output);
    assert.match(r.output, /SyntaxError/, r.output);
  });
}
