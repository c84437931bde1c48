// Builds the checker root when it is missing or its package list changed (scripts/setup.sh runs this).
import { ensureCheckerRoot } from "../lib/checker/root";

ensureCheckerRoot((line) => console.log(line)).catch((err: Error) => {
  console.error(`checker: ${err.message}`);
  process.exit(1);
});
