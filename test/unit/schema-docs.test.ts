// The JSON Schema editors use and the reference doc are generated from the zod
// schema; they must be regenerated (npm run schema) whenever it changes.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { stackJsonSchema } from "../../lib/stack/jsonschema";
import { stackReference } from "../../lib/stack/reference";

test("schema/stack.schema.json is what lib/stack/schema.ts generates (run `npm run schema`)", () => {
  assert.equal(readFileSync("schema/stack.schema.json", "utf8"), `${JSON.stringify(stackJsonSchema(), null, 2)}\n`);
});

test("docs/stack-reference.md is what lib/stack/schema.ts generates (run `npm run schema`)", () => {
  assert.equal(readFileSync("docs/stack-reference.md", "utf8"), stackReference(stackJsonSchema()));
});

test("the JSON Schema rejects unknown keys and documents defaults, as editors need", () => {
  const s = stackJsonSchema() as { additionalProperties: boolean; properties: Record<string, any>; required: string[] };
  assert.equal(s.additionalProperties, false);
  assert.deepEqual(s.required.sort(), ["dns", "domains", "hosts", "pod"]);
  assert.equal(s.properties.privacy.properties.logRetentionDays.default, 7);
  assert.match(s.properties.mail.properties.relay.description, /port 25/);
});

test("every example stack names the schema for yaml-language-server", () => {
  for (const f of ["hetzner", "hackspace", "lab-a", "lab-b"]) {
    assert.match(readFileSync(`stacks/${f}.yaml`, "utf8"), /^# yaml-language-server: \$schema=\.\.\/schema\/stack\.schema\.json$/m);
  }
});
