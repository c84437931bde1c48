// `podkit validate <stack>...`: every problem of every file, nothing touched.
import { loadStackFile } from "../../stack/load";
import { SecretStore } from "../../stack/secrets";
import { formatWarning, stackWarnings } from "../../stack/warnings";
import type { Problem } from "../../stack/problems";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { printProblems } from "../report";

const HELP = `usage: podkit validate <stack.yaml>...

Checks stack files completely (YAML, types, unknown keys, references between
fields) without contacting any host or API. Prints each problem as
file:line:column field: message, and each warning (a valid choice that gives up a
protection) as "warning: " and the same. Exit 0 if all files are valid, 65 if not.`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, {}, HELP);
  if (!args) return EXIT.OK;
  if (!args.positionals.length) throw new UsageError(`name at least one stack file\n\n${HELP}`);
  const problems: Problem[] = [];
  for (const file of args.positionals) {
    // `validate stacks/*.yaml` also matches the stacks' secrets files: check those as such.
    if (file.endsWith(".secrets.yaml")) {
      try {
        console.log(`${file}: secrets file (${new SecretStore(file, {}).names().length} secrets), not a stack`);
      } catch (err) {
        problems.push({ file, line: 1, column: 1, field: "(secrets file)", message: (err as Error).message.replace(`${file}: `, "") });
      }
      continue;
    }
    const result = loadStackFile(file);
    if (result.ok) {
      console.log(`${file}: ok (pod ${result.stack.pod}, ${Object.keys(result.stack.hosts).length} host(s), ${Object.keys(result.stack.accounts).length} account(s))`);
      for (const w of stackWarnings(result.stack, result.source)) console.log(formatWarning(w));
    }
    else problems.push(...result.problems);
  }
  if (problems.length) {
    printProblems(problems);
    return EXIT.DATAERR;
  }
  return EXIT.OK;
}
