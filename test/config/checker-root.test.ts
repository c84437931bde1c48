// The checker roots the roles' role.test.ts run in, one per supported Debian
// release: current with the roles' package list, and cut off from the
// network, so what passes there passed on the rendered files alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderStack } from "../../lib/checker/render";
import { checkerRootIsCurrent, checkerRootOf } from "../../lib/checker/root";
import { RELEASES } from "../../lib/stack/releases";

for (const { codename, version } of RELEASES) {
  test(`the ${codename} checker root holds every package the roles install (else scripts/test.sh rebuilds it)`, () => {
    assert.ok(checkerRootIsCurrent(codename), `${checkerRootOf(codename)} is missing or was built from another package list: run \`node --import tsx scripts/checker-root.ts\``);
  });

  test(`inside the ${codename} checker root only loopback is up, and it is Debian ${version}`, async () => {
    const [host] = renderStack("stacks/hackspace.yaml", codename);
    const r = await withHostRoot(host, (root) => root.sh(". /etc/os-release; echo \"$VERSION_CODENAME\"; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"));
    assert.equal(r.code, 0, r.output);
    assert.deepEqual(r.output.trim().split("\n"), [codename, "lo"]);
  });
}
