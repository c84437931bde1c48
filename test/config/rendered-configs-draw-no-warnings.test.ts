// A config a daemon accepts with a warning works today and breaks on the next
// release (Postfix 3.10 warns about a parameter set twice, nginx 1.26 about
// `listen ... http2`): every example stack's configs, on every supported
// release, are loaded by Postfix, Dovecot and nginx in that release's checker
// root, and none of them says "warning". The checkers converge runs stay
// quiet about warnings; this is where they show.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderExampleStacks } from "../../lib/checker/render";
import { RELEASES } from "../../lib/stack/releases";

/** Each daemon's loader, printing only what it warns about. */
const WARNINGS = [
  "postconf -n 2>&1 >/dev/null | sed 's/^/postconf: /'",
  "doveconf -n 2>&1 >/dev/null | sed 's/^/doveconf: /'",
  "nginx -t 2>&1 | grep -v -e 'syntax is ok' -e 'test is successful' | sed 's/^/nginx: /'",
].join("\n");

for (const { codename } of RELEASES) {
  test(`Postfix, Dovecot and nginx load every example stack's configs without a warning (${codename})`, async (t) => {
    // The mail hosts, and the edges in front of them (their own Postfix, and nginx sending port 80 on to the box).
    const hosts = renderExampleStacks(codename).filter((h) => h.states.some((s) => s.role === "mail" || s.role === "edge"));
    assert.ok(hosts.length > 0);
    const said = await Promise.all(hosts.map((host) => withHostRoot(host, (root) => root.sh(WARNINGS)).then((r) => ({ host, r }))));
    for (const { host, r } of said) {
      assert.equal(r.output.trim(), "", `${host.stack} ${host.host} (${codename}):\n${r.output}`);
      t.diagnostic(`${host.stack} ${host.host}: no warnings`);
    }
  });
}
