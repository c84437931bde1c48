// Where podkit's lines go, and whether they may move. On a terminal: colour
// (unless NO_COLOR, https://no-color.org) and one live status line per host
// below the lines printed so far, redrawn in place. Anywhere else (CI, a log
// file, a pipe, TERM=dumb): plain lines only, not one control character.
//
// Hand-written rather than a library: the few escape codes a block of status
// lines needs (cursor up, erase down) are what log-update (sindresorhus) does,
// and no such library is among podkit's dependencies; log-update is the one to
// take if this grows (spinners, wrapping of wide characters).

export interface TerminalStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
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
  /** Status lines drawn below the printed lines now. */
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly stream: TerminalStream, opts: TerminalOptions = {}) {
    const env = opts.env ?? process.env;
    this.live = opts.live ?? wantsLive(stream, env);
    this.color = opts.color ?? (this.live && !env.NO_COLOR);
  }

  /** `text` in a colour, or as it is where colour is not wanted. */
  paint(text: string, how: Paint): string {
    if (!this.color) return text;
    const [on, off] = CODES[how];
    return `${ESC}${on}m${text}${ESC}${off}m`;
  }

  /** A line that stays. On a terminal, above the live status lines. */
  line(text: string): void {
    if (!this.live) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.stream.write(`${this.erase()}${text}\n${this.draw()}`);
  }

  /** Sets (or with undefined, removes) the live status line of `key`; only drawn on a terminal. */
  setStatus(key: string, text: string | undefined): void {
    if (!this.live) return;
    if (text === undefined) this.status.delete(key);
    else this.status.set(key, text);
    // apt reports many times a second: redraw at most ten times a second.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.stream.write(`${this.erase()}${this.draw()}`);
    }, 100);
  }

  /** Removes every status line: the run is over. */
  finish(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.status.clear();
    if (this.live && this.drawn) this.stream.write(this.erase());
  }

  private erase(): string {
    const up = this.drawn ? `${ESC}${this.drawn}A\r${ESC}J` : "";
    this.drawn = 0;
    return up;
  }

  private draw(): string {
    // A line wider than the terminal wraps and would no longer be erased: cut it.
    const width = Math.max(20, (this.stream.columns ?? 80) - 1);
    const lines = [...this.status.values()].map((s) => (s.length > width ? `${s.slice(0, width - 1)}…` : s));
    this.drawn = lines.length;
    return lines.map((l) => `${l}\n`).join("");
  }
}
