// The program refuses a stack file it cannot bring up before registering any
// resource, with every problem at file:line:column like `podkit validate`.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { loadStackForPulumi } from "../../lib/pulumi/stack";
import { programError, startMocks } from "./pulumi-mocks";

const BROKEN = `pod: citymail
domains: [example.org]
hosts:
  mx:
    hcloud:
      serverTyp: cx22
      volume: { size: big }
dns:
  cloudflare: {}
`;

test("an invalid stack file fails before any resource is registered, naming file:line:column", async () => {
  const file = join(mkdtempSync(join(tmpdir(), "podkit-invalid-")), "broken.yaml");
  writeFileSync(file, BROKEN);
  const rec = await startMocks("broken", { "podkit:stackFile": file }, []);
  const err = programError();
  assert.ok(err, "the program fails");
  assert.equal(err.constructor.name, "RunError", "a RunError: Pulumi prints it without a stack trace");
  // Both problems, each where it is in the file (line 6 column 7: the misspelt key; line 7 column 23: the size).
  assert.match(err.message, new RegExp(`^${file}:6:7 hosts\\.mx\\.hcloud\\.serverTyp: .*serverType`, "m"));
  assert.match(err.message, new RegExp(`^${file}:7:23 hosts\\.mx\\.hcloud\\.volume\\.size: `, "m"));
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(rec.resources.map((r) => r.type), [], "no resource registered");
});

test("a stack with lab hosts is refused under Pulumi, pointing to podkit apply", async () => {
  
  const file = join(mkdtempSync(join(tmpdir(), "podkit-lab-")), "lab.yaml");
  writeFileSync(file, "pod: lab\ndomains: [a.test]\nhosts:\n  mx:\n    lab: { name: a }\ndns:\n  zonefile: { nameservers: [ns.a.test] }\n");
  assert.throws(() => loadStackForPulumi(file), (e: Error) => {
    assert.match(e.message, new RegExp(`^${file}:5:5 hosts\\.mx\\.lab: .*npx podkit apply ${file}`, "m"));
    return true;
  });
});
