// One run of the Pulumi program under the provider-like mocks, in a process of
// its own (Pulumi's runtime holds one program per process): reads what to run
// from the JSON file named by argv[2], writes the resources it registered to
// the JSON file named by argv[3]. Used through runProgram (pulumi-runs.ts).
import { readFileSync, writeFileSync } from "node:fs";
import { loadProgram, settle, startMocks } from "./pulumi-mocks";
import type { ZoneRecord } from "../../lib/dns/conflicts";
import type { RunResource } from "./provider-model";

export interface RunRequest {
  root: string;
  stack: string;
  config: Record<string, string>;
  secretKeys: string[];
  previous?: RunResource[];
  zoneRecords?: Record<string, ZoneRecord[]>;
}

export interface RunResult {
  resources: RunResource[];
  /** Messages of the registrations that failed (as `pulumi up` would report them per resource). */
  failures: string[];
}

async function main() {
  const req = JSON.parse(readFileSync(process.argv[2], "utf8")) as RunRequest;
  process.chdir(req.root);
  const failures: string[] = [];
  // A resource whose inputs fail is not registered; the run goes on, as the engine's does.
  process.on("unhandledRejection", (e) => failures.push(String((e as Error)?.message ?? e)));
  const rec = await startMocks(req.stack, req.config, req.secretKeys, { previous: req.previous, zoneRecords: req.zoneRecords });
  loadProgram();
  await settle(rec);
  const out: RunResource[] = rec.resources.map((r) => ({
    type: r.type, name: r.name, inputs: r.inputs, state: r.state, id: r.id, custom: r.custom, protect: r.protect, ignoreChanges: r.ignoreChanges,
  }));
  writeFileSync(process.argv[3], JSON.stringify({ resources: out, failures } satisfies RunResult));
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
