// A problem found in a stack file, and how it is printed: file:line:column, the
// field path, what was expected. Positions come from the YAML source, so the
// message points at the very key or value to fix.
import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from "yaml";

export type Path = (string | number)[];

export interface Problem {
  file: string;
  line: number;
  column: number;
  /** Field path as a user reads it: `mail.dmarc.reports`, `accounts["alice@example.org"].aliases[1]`. */
  field: string;
  message: string;
}

export function formatPath(path: Path): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out || "(top level)";
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column} ${p.field}: ${p.message}`;
}

/** Finds where a path sits in the YAML source: its value, or its key when `at` is "key". */
export class SourceMap {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  problem(path: Path, message: string, at: "value" | "key" = "value"): Problem {
    const offset = this.offset(path, at);
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col, field: formatPath(path), message };
  }

  /** Start offset of the deepest node on `path` that exists in the source. */
  private offset(path: Path, at: "value" | "key"): number {
    let node: unknown = this.doc.contents;
    let best = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      const last = i === path.length - 1;
      if (isMap(node)) {
        const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg));
        if (!pair) return best;
        if (last && at === "key") return rangeStart(pair.key) ?? best;
        // A key with no value (`mail:`) points at the key itself.
        node = pair.value ?? pair.key;
      } else if (isSeq(node) && typeof seg === "number") {
        node = node.items[seg];
        if (node === undefined) return best;
      } else {
        return best;
      }
      best = rangeStart(node) ?? best;
    }
    return best;
  }
}

function rangeStart(node: unknown): number | undefined {
  return (node as Node | null)?.range?.[0];
}
