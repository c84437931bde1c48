// Where podkit's lines go, and whether they may move. On a terminal: colour
// (unless NO_COLOR, https://no-color.org) and one live status line per host
// below the lines printed so far, redrawn in place. Anywhere else (CI, a log
// file, a pipe, TERM=dumb): plain lines only, not one control character.
//
// The live block is drawn by log-update (https://github.com/sindresorhus/log-update,
// 7.2.0: the last release for Node 20; 8.x needs Node 22): small, kept by Sindre
// Sorhus together with the ANSI, cursor and wrapping packages it stands on, and
// widely used by CLIs. What it does that a few hand-written escape codes did not:
// it counts the rows of wide and coloured text as the terminal wraps them, so it
// erases every row it drew; it wraps each frame in synchronized output (a
// terminal that knows DEC mode 2026 paints it at once, without flicker); it
// redraws only the rows that changed. It hides the cursor while the block is up
// (cli-cursor, on process.stderr) and shows it again at done() and, through
// restore-cursor (signal-exit), when the process exits, Ctrl-C included.
// Two things podkit still does itself: a host's line is cut to one row (a
// wrapped one would push the others down), and a line that stays is written as
// it is, not through log-update's persist (see line()).

import type { createLogUpdate } from "log-update";

export interface TerminalStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
}

export interface TerminalOptions {
  /** Override what the stream and the environment say (tests). */
  live?: boolean;
  color?: boolean;
  env?: NodeJS.ProcessEnv;
}

const ESC = "\x1b[";

/** Colour is for terminals whose user did not turn it off. */
export function wantsColor(stream: TerminalStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return wantsLive(stream, env) && !env.NO_COLOR;
}

/** Lines that update in place need a terminal that understands cursor movement. */
export function wantsLive(stream: TerminalStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && env.TERM !== "dumb";
}

export type Paint = "red" | "green" | "yellow" | "bold" | "dim";
const CODES: Record<Paint, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22], dim: [2, 22] };

export class Terminal {
  readonly live: boolean;
  readonly color: boolean;
  private readonly status = new Map<string, string>();
  /** Draws the live block; only made on a terminal, so nothing else ever writes a control character. */
  private readonly block: ReturnType<typeof createLogUpdate> | undefined;
  /** Whether the block was drawn since the last done(): the cursor is hidden then. */
  private drawn = false;
  private timer: NodeJS.Timeout | undefined;
  /** While a line that stays is written: what log-update writes, to go out with it in one write. */
  private batch: string[] | undefined;

  constructor(private readonly stream: TerminalStream, opts: TerminalOptions = {}) {
    const env = opts.env ?? process.env;
    this.live = opts.live ?? wantsLive(stream, env);
    this.color = opts.color ?? (this.live && !env.NO_COLOR);
    // cli-cursor hides the cursor of process.stderr: that is the terminal drawn on only when
    // podkit draws on its own output (a stream of a test's is not).
    const own = stream === process.stdout || stream === process.stderr;
    const write = (text: string) => (this.batch ? this.batch.push(text) : stream.write(text));
    // Loaded here, on a terminal only: its width tables take some 50 ms to build, which
    // every command run from a script, a CI job or a pipe would otherwise pay for nothing.
    if (this.live) this.block = (require("log-update") as { createLogUpdate: typeof createLogUpdate }).createLogUpdate(sized(stream, write), { showCursor: !own });
  }

  /** `text` in a colour, or as it is where colour is not wanted. */
  paint(text: string, how: Paint): string {
    if (!this.color) return text;
    const [on, off] = CODES[how];
    return `${ESC}${on}m${text}${ESC}${off}m`;
  }

  /** A line that stays. On a terminal, above the live status lines. */
  line(text: string): void {
    if (!this.block) {
      this.stream.write(`${text}\n`);
      return;
    }
    // Not log-update's persist: it cuts a line wider than the terminal with a newline (a command
    // copied from it would run half) and keeps only the last screenful of a long text. Its
    // clear() and a plain write do what persist does otherwise: the block is drawn anew below,
    // all in one write, so the terminal does not show the block gone in between.
    this.batch = [];
    try {
      this.block.clear();
      this.batch.push(`${text}\n`);
      this.draw();
    } finally {
      const out = this.batch.join("");
      this.batch = undefined;
      this.stream.write(out);
    }
  }

  /** Sets (or with undefined, removes) the live status line of `key`; only drawn on a terminal. */
  setStatus(key: string, text: string | undefined): void {
    if (!this.block) return;
    if (text === undefined) this.status.delete(key);
    else this.status.set(key, text);
    // apt reports many times a second: redraw at most ten times a second.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.draw();
    }, 100);
  }

  /** Removes every status line and shows the cursor again: the run is over. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.status.clear();
    if (!this.block || !this.drawn) return;
    this.block.clear();
    this.block.done();
    this.drawn = false;
  }

  private draw(): void {
    if (!this.block) return;
    if (!this.status.size) {
      this.block.clear();
      return;
    }
    // A host's line stays one line: log-update would wrap a wider one onto the next row.
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    this.block([...this.status.values()].map((s) => cut(s, width)).join("\n"));
    this.drawn = true;
  }
}

/**
 * The stream as log-update reads it. A terminal that reports no size (0 x 0: a
 * pseudo-terminal nobody sized, as `script` or `docker run -t` can make) counts as
 * the usual 80 x 24: log-update takes 0 rows for "write nothing at all", the lines
 * that stay included.
 */
function sized(stream: TerminalStream, write: (text: string) => unknown): NodeJS.WritableStream {
  return {
    write,
    isTTY: stream.isTTY,
    get columns() { return stream.columns || undefined; },
    get rows() { return stream.rows || undefined; },
  } as unknown as NodeJS.WritableStream;
}

/** `text` cut to `width` columns with an ellipsis; its colour codes stay (they take no column, and close what they opened). */
export function cut(text: string, width: number): string {
  const parts = text.split(/(\x1b\[[0-9;]*m)/);
  if (parts.reduce((n, p, i) => n + (i % 2 ? 0 : [...p].length), 0) <= width) return text;
  let room = width - 1;
  let out = "";
  for (const [i, p] of parts.entries()) {
    const chars = [...p];
    if (i % 2) out += p;
    else if (room >= 0 && chars.length > room) {
      out += `${chars.slice(0, room).join("")}…`;
      room = -1;
    } else if (room >= 0) {
      out += p;
      room -= chars.length;
    }
  }
  return out;
}
