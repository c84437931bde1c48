// A secret the stack names but Pulumi config lacks stops the program before
// anything is created, and the error says which secret, where it is named and
// the command that sets it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { programError, startMocks } from "./pulumi-mocks";

const ROOT = resolve(__dirname, "../..");

/** line:column of the `{ secret: name }` mapping in the file, found by reading the text. */
function whereNamed(text: string, secret: string): string {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.includes(`{ secret: ${secret} }`));
  assert.ok(i >= 0, `${secret} is named in the file`);
  return `${i + 1}:${lines[i].indexOf("{") + 1}`;
}

test("a missing secret in config is reported by name", async () => {
  const file = "stacks/hetzner.yaml";
  process.chdir(ROOT);
  const rec = await startMocks("citymail", {
    "podkit:stackFile": file,
    "podkit:backup-passphrase": "x", "podkit:sam-password": "x", "podkit:noor-password": "x",
    // relay-password and kim-password are not set
  }, ["podkit:backup-passphrase", "podkit:sam-password", "podkit:noor-password"]);
  const err = programError();
  assert.ok(err, "the program fails");
  const text = readFileSync(join(ROOT, file), "utf8");
  assert.match(err.message, /missing secrets: relay-password, kim-password/);
  assert.ok(err.message.includes(`${file}:${whereNamed(text, "relay-password")} mail.relay.password: secret "relay-password" is not set in Pulumi config: pulumi config set --secret podkit:relay-password <value>`), err.message);
  assert.ok(err.message.includes(`${file}:${whereNamed(text, "kim-password")} accounts["kim@example.net"].password: secret "kim-password"`), err.message);
  assert.ok(!/sam-password|noor-password|backup-passphrase/.test(err.message), "secrets that are set are not mentioned");
  await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual(rec.resources.map((r) => r.type), [], "no resource registered");
});
