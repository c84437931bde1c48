// `podkit schema`: the JSON Schema of stack files, from the one definition in lib/stack/schema.ts.
import { stackJsonSchema } from "../../stack/jsonschema";
import { EXIT } from "../exit";

export async function run(): Promise<number> {
  console.log(JSON.stringify(stackJsonSchema(), null, 2));
  return EXIT.OK;
}
