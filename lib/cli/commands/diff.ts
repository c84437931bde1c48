// `podkit diff <stack>`: what apply would change, as unified diffs; nothing is written.
import { runConverge } from "../converge-run";

const HELP = `usage: podkit diff <stack.yaml>... [--host NAME]... [--role ROLE]... [--json] [-v] [--exit-code]

Shows what \`podkit apply\` would change on each host: packages to install,
units to start, and a unified diff of every file (secret files: only that they
change). Writes nothing.
  -v, --verbose every change a role would make, under its line
  --exit-code   exit 1 when there are changes (like git diff --exit-code)`;

export const run = (argv: string[]) => runConverge(argv, HELP, true);
