// How problems reach the terminal: one line each, file:line:column first, so
// editors and CI logs link straight to the spot.
import { StackError } from "../stack/pod";
import { formatProblem, type Problem } from "../stack/problems";
import { EXIT } from "./exit";

export function printProblems(problems: Problem[]): void {
  for (const p of problems) console.error(formatProblem(p));
  const files = new Set(problems.map((p) => p.file)).size;
  console.error(`${problems.length} problem${problems.length === 1 ? "" : "s"}${files > 1 ? ` in ${files} files` : ""}`);
}

/** Runs a command body; a StackError becomes its problem lines and exit 65. */
export async function withStackErrors(body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof StackError) {
      printProblems(err.problems);
      return EXIT.DATAERR;
    }
    throw err;
  }
}
