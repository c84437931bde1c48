// Writes schema/stack.schema.json and docs/stack-reference.md from the one
// definition in lib/stack/schema.ts. A unit test fails if they are stale.
import { writeFileSync } from "node:fs";
import { stackJsonSchema } from "../lib/stack/jsonschema";
import { stackReference } from "../lib/stack/reference";

const schema = stackJsonSchema();
writeFileSync("schema/stack.schema.json", `${JSON.stringify(schema, null, 2)}\n`);
writeFileSync("docs/stack-reference.md", stackReference(schema));
console.log("wrote schema/stack.schema.json and docs/stack-reference.md");
