// The stack file reference (docs/stack-reference.md), written from the JSON
// Schema so the documentation is the schema, never a copy of it.
type Json = Record<string, any>;

interface Row {
  path: string;
  type: string;
  required: boolean;
  default?: unknown;
  description?: string;
  examples?: unknown[];
}

export function stackReference(schema: Json): string {
  const rows: Row[] = [];
  walk(schema, "", true, rows);
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const lines = [
    "# Stack file reference",
    "",
    "Generated from `lib/stack/schema.ts` by `npm run schema`; do not edit by hand.",
    "Editors that understand `# yaml-language-server: $schema=../schema/stack.schema.json`",
    "check stack files against the same definition as you type.",
    "",
    "`<name>` stands for a key you choose (a host name, an account address).",
    "",
    "| field | type | default | meaning |",
    "| --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const def = r.default === undefined ? (r.required ? "**required**" : "") : `\`${JSON.stringify(r.default)}\``;
    const ex = r.examples?.length ? ` Example: \`${JSON.stringify(r.examples[0])}\`.` : "";
    lines.push(`| \`${r.path}\` | ${cell(r.type)} | ${cell(def)} | ${cell((r.description ?? "") + ex)} |`);
  }
  return `${lines.join("\n")}\n`;
}

function walk(node: Json, path: string, required: boolean, rows: Row[]): void {
  if (path) rows.push({ path, type: typeOf(node), required, default: node.default, description: node.description, examples: node.examples });
  if (node.type === "object" && node.properties) {
    const req = new Set<string>(node.required ?? []);
    for (const [key, child] of Object.entries<Json>(node.properties)) walk(child, path ? `${path}.${key}` : key, req.has(key), rows);
  } else if (node.type === "object" && typeof node.additionalProperties === "object") {
    walk(node.additionalProperties, `${path}.<name>`, true, rows);
  } else if (node.type === "array" && node.items?.type === "object") {
    walk(node.items, `${path}[]`, true, rows);
  }
}

function typeOf(node: Json): string {
  if (node.enum) return node.enum.map((v: unknown) => JSON.stringify(v)).join(" or ");
  if (node.type === "array") return `list of ${node.items ? typeOf(node.items) : "values"}`;
  if (node.type === "object") return node.properties?.secret && Object.keys(node.properties).length === 1 ? "secret reference" : "mapping";
  if (node.type === "integer") return "whole number";
  return String(node.type ?? "value");
}
