// Templates are the real config files, under roles/<role>/templates/ at the
// path they land on (roles/mail/templates/etc/postfix/main.cf), with
// {{placeholders}} (mustache, no HTML escaping). A placeholder the role does
// not provide is an error, never an empty string in a live config.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Mustache from "mustache";
import { REPO_ROOT } from "../paths";

export const ROLES_DIR = join(REPO_ROOT, "roles");

type View = Record<string, unknown>;

export function renderTemplate(role: string, path: string, view: View): string {
  const file = join(ROLES_DIR, role, "templates", path);
  const text = readFileSync(file, "utf8");
  const missing = topLevelNames(Mustache.parse(text)).filter(({ name, section }) => (section ? !has(view, name) : lookup(view, name) === undefined)).map((n) => n.name);
  if (missing.length) throw new Error(`${file}: no value for ${missing.map((n) => `{{${n}}}`).join(", ")}`);
  return Mustache.render(text, view, {}, { escape: (s: string) => s });
}

/**
 * Names used outside sections (inside a section, names may come from the
 * section's item). A section's own name may be false or undefined — that is
 * what switches it off — but the role must have said so.
 */
function topLevelNames(tokens: unknown[]): { name: string; section: boolean }[] {
  const names: { name: string; section: boolean }[] = [];
  for (const t of tokens as [string, string, ...unknown[]][]) {
    if (t[0] === "name" || t[0] === "&" || t[0] === "{") names.push({ name: t[1], section: false });
    if (t[0] === "#" || t[0] === "^") names.push({ name: t[1], section: true });
  }
  return names.filter((n) => n.name !== ".");
}

function has(view: View, name: string): boolean {
  const parts = name.split(".");
  const parent = lookup(view, parts.slice(0, -1).join("."));
  return parts.length === 1 ? parts[0] in view : !!parent && typeof parent === "object" && parts.at(-1)! in (parent as View);
}

function lookup(view: View, name: string): unknown {
  if (!name) return view;
  return name.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as View)[k] : undefined), view);
}
