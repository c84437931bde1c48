// How a stack value is written into a daemon's own config language, for the
// escape hatches mail.dovecot and chat.prosody: always as a literal of that
// language (Dovecot's quoted string, a Lua string, number, boolean or list of
// strings), never as syntax, so a value cannot end the line, open a section,
// start a comment or run Lua. The schema refuses what cannot be written so;
// these functions refuse it again at the point of use (a stack edited in code).
import { oneLine } from "./text";

/** A setting or option name of either daemon: lowercase words joined by _, as both spell theirs. */
export const SETTING_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/** `name` as the left-hand side of a dovecot.conf line or a Lua assignment; anything else is refused. */
export function settingName(field: string, name: string, lua = false): string {
  if (!SETTING_NAME.test(name)) throw new Error(`${field}: expected a setting name of lowercase letters, digits and _ (found ${JSON.stringify(name)})`);
  if (lua && LUA_KEYWORDS.has(name)) throw new Error(`${field}: expected an option name, not the Lua keyword ${name}`);
  return name;
}

/**
 * A Dovecot value the schema accepts: any one-line text (written quoted), or
 * `<` and an absolute path, which Dovecot 2.3 reads as "the contents of this
 * file" (ssl_cert = </etc/...) only when unquoted: the path is then held to
 * characters Dovecot's parser reads as part of a word (no #, quote, space or backslash).
 */
export const DOVECOT_VALUE = /^(?!<)|^<(\/[A-Za-z0-9._+@:=,-]+)+$/;

/** Lua's reserved words: as an option name they would be Lua syntax, not an assignment. */
export const LUA_KEYWORDS = new Set([
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
  "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
]);

/**
 * `value` as the right-hand side of a dovecot.conf line. Inside Dovecot's double quotes only \ and "
 * need escaping; a #, { or trailing \ is then text, not a comment, a section or a continued line
 * (roles/mail/role.test.ts shows doveconf 2.3 and 2.4 reading such a value back as written).
 */
export function dovecotValue(field: string, value: string | number | boolean): string {
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return String(value);
  oneLine(field, value);
  if (value.startsWith("<")) {
    if (!DOVECOT_VALUE.test(value)) throw new Error(`${field}: expected <file with an absolute path of letters, digits and . _ + - @ : = , /`);
    return value;
  }
  return doubleQuoted(value);
}

/** `value` as a Lua literal: a string in double quotes (\ and " escaped), a number, a boolean or a list of strings. */
export function luaValue(field: string, value: string | number | boolean | string[]): string {
  if (typeof value === "boolean") return String(value);
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error(`${field}: expected a finite number`);
    return String(value);
  }
  if (Array.isArray(value)) return `{ ${value.map((v, i) => `${luaString(`${field}[${i}]`, v)}; `).join("")}}`;
  return luaString(field, value);
}

/** One Lua string literal. Lua reads every other character in a short string as itself; control characters are refused. */
function luaString(field: string, s: string): string {
  return doubleQuoted(oneLine(field, s));
}

/** In double quotes with \\ and " escaped: how Dovecot and Lua both read a one-line string literal. */
function doubleQuoted(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
