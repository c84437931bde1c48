// Where the repository is, found from this file: the CLI runs either from the
// TypeScript sources (lib/) or from the bundle (.build/), one level apart.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

function findRoot(start: string): string {
  for (let dir = start, i = 0; i < 5; i++, dir = dirname(dir)) {
    if (existsSync(join(dir, "roles")) && existsSync(join(dir, "package.json"))) return dir;
  }
  throw new Error(`podkit: cannot find the repository (roles/ and package.json) above ${start}`);
}

export const REPO_ROOT = findRoot(__dirname);
