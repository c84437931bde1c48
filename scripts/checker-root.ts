// Builds the checker roots (one per supported Debian release) when missing or when their package list changed (scripts/test.sh runs this).
import { ensureCheckerRoots } from "../lib/checker/root";

ensureCheckerRoots((line) => console.log(line)).catch((err: Error) => {
  console.error(`checker: ${err.message}`);
  process.exit(1);
});
