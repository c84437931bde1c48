// The web role's HTTPS server blocks, for every example stack, loaded by
// nginx -t in each release's checker root with the host's certificate in place; a typo in
// them stops at nginx.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's MTA-STS and autoconfig sites pass nginx -t (${release})`, async (t) => {
    await assertChecksPass(t, "web", release);
  });

  test(`a typo in podkit.d/web.conf is refused by nginx with its own message (${release})`, async () => {
    const r = await checkEdited("web", "/etc/nginx/podkit.d/web.conf", (c) => c.replace("ssl_certificate_key", "ssl_certificate_kye"), release);
    assert.equal(r.refused, "nginx -t", r.output);
    assert.match(r.output, /unknown directive "ssl_certificate_kye"/, r.output);
  });
}
