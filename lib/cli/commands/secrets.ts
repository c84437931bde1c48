// `podkit secrets <stack>`: which secrets the stack needs, and creates the ones podkit generates.
import { loadPod } from "../../stack/pod";
import { envName, secretUses } from "../../stack/secrets";
import { formatPath } from "../../stack/problems";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";

const HELP = `usage: podkit secrets <stack.yaml> [--secrets FILE] [--generate-all]

Lists the secrets the stack refers to and whether each has a value, and creates
the DKIM key if it is missing. Values are never printed.
  --secrets FILE   secrets file (default: <stack>.secrets.yaml, created mode 0600)
  --generate-all   also fill every missing secret with a random value (lab, workshops)`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { secrets: { type: "string" }, "generate-all": { type: "boolean" } }, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  return withStackErrors(async () => {
    const pod = loadPod(args.positionals[0], { providers: hostProviders(), secretsFile: args.values.secrets, generate: true, generateAll: args.values["generate-all"] });
    let missing = 0;
    for (const use of secretUses(pod.stack)) {
      const ok = pod.secrets.has(use.name);
      if (!ok) missing++;
      console.log(`${ok ? "set    " : "MISSING"} ${use.name.padEnd(24)} ${formatPath(use.path)}${ok ? "" : `  (add to ${pod.secrets.file} or set ${envName(use.name)})`}`);
    }
    return missing ? EXIT.FAILED : EXIT.OK;
  });
}
