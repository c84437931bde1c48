// `podkit zone <stack>`: the pod's DNS records as zone files.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { zoneFilesForStackFile } from "../../dns/stack-zones";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";

const HELP = `usage: podkit zone <stack.yaml> [--out DIR] [--serial N] [--secrets FILE]

Prints one zone file per DNS zone of the pod (or writes DIR/<zone>.zone).
Creates the pod's DKIM key in the secrets file if it has none yet.
  --out DIR       write files instead of printing
  --serial N      SOA serial (default: current Unix time)
  --secrets FILE  secrets file (default: <stack>.secrets.yaml)`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { out: { type: "string" }, serial: { type: "string" }, secrets: { type: "string" } }, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  const serial = args.values.serial === undefined ? undefined : Number(args.values.serial);
  if (serial !== undefined && !(Number.isInteger(serial) && serial > 0 && serial < 2 ** 32)) throw new UsageError("--serial takes a whole number below 2^32");
  return withStackErrors(async () => {
    const zones = await zoneFilesForStackFile(args.positionals[0], { providers: hostProviders(), serial, secretsFile: args.values.secrets });
    if (args.values.out) {
      mkdirSync(args.values.out, { recursive: true });
      for (const z of zones) writeFileSync(join(args.values.out, `${z.zone}.zone`), z.text);
      console.error(`wrote ${zones.map((z) => join(args.values.out!, `${z.zone}.zone`)).join(", ")}`);
    } else {
      process.stdout.write(zones.map((z) => z.text).join("\n"));
    }
    return EXIT.OK;
  });
}
