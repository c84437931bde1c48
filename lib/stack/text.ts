// What no string in a stack file may carry, whatever its field: characters that
// end a line or a word in the file a value lands in (C0 controls, DEL, C1
// controls, NUL, the Unicode line and paragraph separators), characters that make text read differently from what it is
// (bidirectional overrides and isolates), and unbounded lengths. Checked once,
// over every key and value of the parsed YAML, so a new field cannot forget it.
import type { Path } from "./problems";

/** Longest string accepted anywhere (an RSA-4096 SSH key is about 750 characters). */
export const MAX_TEXT_LENGTH = 2048;

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const BIDI_RE = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;

/** Why `s` may not appear in a stack, or undefined when it may. */
export function textFault(s: string): string | undefined {
  const control = CONTROL_RE.exec(s);
  if (control) return `text without control characters: found U+${hex(control[0])} at character ${control.index + 1} (line breaks, tabs and NUL end a line or a word in the files this value is written to)`;
  const bidi = BIDI_RE.exec(s);
  if (bidi) return `text without bidirectional controls: found U+${hex(bidi[0])} at character ${bidi.index + 1} (they make a value read differently from what it is)`;
  if (s.length > MAX_TEXT_LENGTH) return `at most ${MAX_TEXT_LENGTH} characters (this one has ${s.length})`;
  return undefined;
}

export interface TextProblem {
  path: Path;
  message: string;
  at: "value" | "key";
}

/** Every key and string value of the raw stack that `textFault` refuses, with its path. */
export function textProblems(raw: unknown, path: Path = []): TextProblem[] {
  const out: TextProblem[] = [];
  if (typeof raw === "string") {
    const fault = textFault(raw);
    if (fault) out.push({ path, message: `expected ${fault}`, at: "value" });
  } else if (Array.isArray(raw)) {
    raw.forEach((v, i) => out.push(...textProblems(v, [...path, i])));
  } else if (raw !== null && typeof raw === "object") {
    for (const [k, v] of Object.entries(raw)) {
      const fault = textFault(k);
      if (fault) out.push({ path: [...path, k], message: `expected a key of ${fault}`, at: "key" });
      out.push(...textProblems(v, [...path, k]));
    }
  }
  return out;
}

/**
 * The guard at the point of use, for files whose language has no quoting (Postfix
 * tables and main.cf, Prosody's groups.txt): a value that would start a new line
 * or word there is refused, naming the field. The schema refuses such values
 * first; this keeps a stack edited in code from getting through.
 */
export function oneLine(field: string, value: string, alsoNoSpace = false): string {
  const fault = textFault(value) ?? (alsoNoSpace && /\s/.test(value) ? "no white space" : undefined);
  if (fault) throw new Error(`${field}: expected ${fault}`);
  return value;
}

/** `s` with every character a terminal would act on or hide written as \uXXXX: a problem message stays one plain line. */
export function printable(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g, (c) => `\\u${hex(c)}`);
}

const hex = (c: string) => c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
