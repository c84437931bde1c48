#!/usr/bin/env node
// Entry point for `npx podkit`. Runs the bundle scripts/setup.sh builds
// (.build/podkit.cjs: starts in a fraction of the time), unless a source file
// is newer than it, in which case the TypeScript sources run through tsx.
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const bundle = path.join(root, ".build", "podkit.cjs");

function newestSource(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (entry.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
  }
  return newest;
}

function bundleIsFresh() {
  try {
    const built = fs.statSync(bundle).mtimeMs;
    return ["lib", "roles"].every((d) => newestSource(path.join(root, d)) <= built);
  } catch {
    return false;
  }
}

let cli;
if (bundleIsFresh()) {
  cli = require(bundle);
} else {
  require("tsx/cjs");
  cli = require("../lib/cli/main.ts");
}
cli.main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`podkit: ${err && err.stack ? err.stack : err}`); process.exitCode = 70; },
);
