// The checker root the roles' role.test.ts run in: current with the roles'
// package list, and cut off from the network, so what passes there passed on
// the rendered files alone.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderStack } from "../../lib/checker/render";
import { CHECKER_ROOT, checkerRootIsCurrent } from "../../lib/checker/root";

test("the checker root holds every package the roles install (else scripts/setup.sh rebuilds it)", () => {
  assert.ok(checkerRootIsCurrent(), `${CHECKER_ROOT} is missing or was built from another package list: run scripts/setup.sh`);
});

test("inside the checker root only loopback is up: a checker cannot reach the network", async () => {
  const [host] = renderStack("stacks/hackspace.yaml");
  const r = await withHostRoot(host, (root) => root.sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"));
  assert.equal(r.code, 0, r.output);
  assert.deepEqual(r.output.trim().split("\n"), ["lo"]);
});
