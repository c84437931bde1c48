// Applying an unchanged stack again changes nothing, and
// says so; the first (cold) and the no-op apply times are printed for the record.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { podkit } from "./helpers";
import { apply, ensurePods, firstApplyTimings } from "./pods";

before(async () => {
  await ensurePods();
});

test("a second podkit apply of each lab stack reports zero changes", async (t) => {
  for (const stack of ["stacks/lab-a.yaml", "stacks/lab-b.yaml"]) {
    const r = await apply(stack);
    assert.equal(r.report.exitCode, undefined, r.stderr);
    assert.equal(r.changes, 0, `${stack}: ${JSON.stringify(r.report.hosts)}`);
    for (const role of r.report.hosts[0].roles) assert.deepEqual(role.items, [], `${stack} ${role.role}`);
    t.diagnostic(`${stack}: no-op apply took ${r.seconds.toFixed(2)} s (whole command)`);
  }
  const first = firstApplyTimings();
  if (first) for (const [i, f] of first.first.entries()) t.diagnostic(`stacks/lab-${"ab"[i]}.yaml: first apply in this lab took ${f.seconds.toFixed(1)} s (${f.changes} changes)`);
  else t.diagnostic("the first apply ran in `npm run lab` (test 01 prints how long it took); cold figures: npm run bench");
});

test("podkit diff of an unchanged stack shows nothing and exits 0 with --exit-code", async () => {
  const r = await podkit("diff", "stacks/lab-a.yaml", "--exit-code");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /no changes on 1 host/);
});
