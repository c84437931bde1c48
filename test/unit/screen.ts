// A terminal in memory for tests of what podkit draws: @xterm/headless, the
// emulator behind VS Code's terminal, without a window. What podkit wrote is
// played into it one write at a time, and a test reads the rows a person would
// see after each, rather than parsing podkit's (log-update's) escape codes.
import { Terminal } from "@xterm/headless";

export class Screen {
  private readonly term: Terminal;

  constructor(readonly cols: number, readonly rows: number) {
    // convertEol: a newline also returns the carriage, as the pseudo-terminal between a program and its window does (onlcr).
    this.term = new Terminal({ cols, rows, scrollback: 10_000, convertEol: true, allowProposedApi: true });
  }

  /** Plays `data` in; resolves once the emulator has acted on all of it. */
  write(data: string): Promise<void> {
    return new Promise((resolve) => this.term.write(data, resolve));
  }

  /** The rows in the window now, as shown (right-trimmed). */
  visible(): string[] {
    const buffer = this.term.buffer.active;
    return this.rowsOf(buffer.baseY, buffer.baseY + this.rows);
  }

  /**
   * Every line written so far, scrollback included, without the empty rows below
   * the last. A line the terminal wrapped is one (it copies as one); a line cut by
   * a newline is two.
   */
  all(): string[] {
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      const row = buffer.getLine(i);
      const text = row?.translateToString(true) ?? "";
      if (row?.isWrapped && lines.length) lines[lines.length - 1] += text;
      else lines.push(text);
    }
    while (lines.length && lines.at(-1) === "") lines.pop();
    return lines;
  }

  private rowsOf(from: number, to: number): string[] {
    const rows: string[] = [];
    for (let i = from; i < to; i++) rows.push(this.term.buffer.active.getLine(i)?.translateToString(true) ?? "");
    return rows;
  }
}

/** Each write of a series played into `screen`, with what the window shows after it. */
export async function replay(screen: Screen, writes: string[]): Promise<string[][]> {
  const seen: string[][] = [];
  for (const data of writes) {
    await screen.write(data);
    seen.push(screen.visible());
  }
  return seen;
}
