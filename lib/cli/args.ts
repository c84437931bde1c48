// Command-line parsing shared by the commands: node's parseArgs, with unknown
// options reported as usage errors (exit 64) instead of stack traces.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./exit";

export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T, help: string) {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log(help);
    return null;
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${help}`);
  }
}
