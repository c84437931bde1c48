// An existing host is logged in to with podkit:sshPrivateKey. Without it the
// program stops before registering anything (so in `pulumi preview`), saying
// which hosts need it and the command that sets it.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { programError, startMocks } from "./pulumi-mocks";

test("an existing host without podkit:sshPrivateKey fails before any resource, naming the config key", async () => {
  process.chdir(resolve(__dirname, "../.."));
  const rec = await startMocks("hackspace", { "podkit:relay-password": "r", "podkit:ada-password": "a", "podkit:grace-password": "g" },
    ["podkit:relay-password", "podkit:ada-password", "podkit:grace-password"]);
  const err = programError();
  assert.ok(err, "the program fails");
  assert.match(err.message, /existing host\(s\) box .* Pulumi config podkit:sshPrivateKey, which is not set/);
  assert.ok(err.message.includes("pulumi config set --secret podkit:sshPrivateKey < ~/.ssh/id_ed25519"), err.message);
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(rec.resources.map((r) => r.type), [], "no resource registered");
});
