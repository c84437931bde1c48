// The tls role's nginx.conf, for every example stack, loaded by nginx -t in each release's
// checker root; a typo in it stops at nginx.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's nginx config passes nginx -t (${release})`, async (t) => {
    await assertChecksPass(t, "tls", release);
  });

  test(`a typo in nginx.conf is refused by nginx with its own message (${release})`, async () => {
    const r = await checkEdited("tls", "/etc/nginx/nginx.conf", (c) => c.replace("worker_connections 256;", "worker_conections 256;"), release);
    assert.equal(r.refused, "nginx -t", r.output);
    assert.match(r.output, /unknown directive "worker_conections"/, r.output);
  });
}
