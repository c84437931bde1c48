#!/usr/bin/env node
// Entry point for `npx podkit`: TypeScript sources run through tsx, no build step.
require("tsx/cjs");
require("../lib/cli/main.ts").main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`podkit: ${err && err.stack ? err.stack : err}`); process.exitCode = 70; },
);
