// Templates are the real config files, under roles/<role>/templates/ at the
// path they land on (roles/mail/templates/etc/postfix/main.cf), with
// {{placeholders}} (mustache, no HTML escaping). A placeholder the role does
// not provide is an error, never an empty string in a live config.
//
// Where a Debian release's daemon takes another file than the release before
// (Dovecot 2.4 on trixie rewrote the config syntax), the role keeps the new
// file in roles/<role>/templates.<codename>/ at the same path
// (roles/mail/templates.trixie/etc/dovecot/dovecot.conf). It holds from that
// release on, until a later release has a variant of its own; templates/ is
// the file of the oldest supported release, and of every release where
// nothing differs. Everything else is one file for all.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Mustache from "mustache";
import { REPO_ROOT } from "../paths";
import { RELEASES, unsupportedRelease, type DebianRelease } from "../stack/releases";

export const ROLES_DIR = join(REPO_ROOT, "roles");

type View = Record<string, unknown>;

/**
 * The template file a host of `release` gets: the variant of that release or
 * of the newest release before it that has one, else the common file.
 * `releases` (oldest first) is for tests.
 */
export function templateFile(role: string, path: string, release?: string, releases: readonly DebianRelease[] = RELEASES): string {
  if (release) {
    const upTo = releases.findIndex((r) => r.codename === release);
    if (upTo < 0) throw new Error(unsupportedRelease(release));
    for (const r of releases.slice(0, upTo + 1).reverse()) {
      const variant = join(ROLES_DIR, role, `templates.${r.codename}`, path);
      if (exists(variant)) return variant;
    }
  }
  return join(ROLES_DIR, role, "templates", path);
}

// One apply renders every role for every host, twice per host (before and after it
// says what it is): the files under roles/ are read once per run, not once per render.
function memo<T>(f: (file: string) => T): (file: string) => T {
  const known = new Map<string, T>();
  return (file) => {
    if (!known.has(file)) known.set(file, f(file));
    return known.get(file)!;
  };
}
const exists = memo(existsSync);
const readTemplate = memo((file) => readFileSync(file, "utf8"));

/** Renders roles/<role>/templates/<path> (or the release's variant of it, see above) with `view`. */
export function renderTemplate(role: string, path: string, view: View, release?: string): string {
  const file = templateFile(role, path, release);
  const text = readTemplate(file);
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
