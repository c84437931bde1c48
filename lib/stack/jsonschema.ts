// The JSON Schema editors use to check stack files as people type
// (yaml-language-server modeline at the top of each example), derived from
// the zod schema so it can never disagree with `podkit validate`.
import { z } from "zod";
import { stackSchema } from "./schema";

export function stackJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(stackSchema, { io: "input", target: "draft-7", unrepresentable: "any" }) as Record<string, unknown>;
  return { ...schema, title: "podkit stack file" };
}
