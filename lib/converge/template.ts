// Templates are the real config files, under roles/<role>/templates/ at the
// path they land on (roles/mail/templates/etc/postfix/main.cf), with
// {{placeholders}} (mustache, no HTML escaping). A placeholder the role does
// not provide is an error, never an empty string in a live config.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Mustache from "mustache";

export const ROLES_DIR = join(__dirname, "..", "..", "roles");

type View = Record<string, unknown>;

export function renderTemplate(role: string, path: string, view: View): string {
  const file = join(ROLES_DIR, role, "templates", path);
  const text = readFileSync(file, "utf8");
  const missing = topLevelNames(Mustache.parse(text)).filter((n) => lookup(view, n) === undefined);
  if (missing.length) throw new Error(`${file}: no value for ${missing.map((n) => `{{${n}}}`).join(", ")}`);
  return Mustache.render(text, view, {}, { escape: (s: string) => s });
}

/** Variable names used outside sections (inside a section, names may come from the section's item). */
function topLevelNames(tokens: unknown[]): string[] {
  const names: string[] = [];
  for (const t of tokens as [string, string, ...unknown[]][]) {
    if (t[0] === "name" || t[0] === "&" || t[0] === "{") names.push(t[1]);
    if (t[0] === "#" || t[0] === "^") names.push(t[1]);
  }
  return [...new Set(names)].filter((n) => n !== ".");
}

function lookup(view: View, name: string): unknown {
  return name.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as View)[k] : undefined), view);
}
