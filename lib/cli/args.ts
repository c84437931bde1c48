// Command-line parsing shared by the commands: node's parseArgs, with unknown
// options reported as usage errors (exit 64) instead of stack traces.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { DEFAULT_LOCK_WAIT_S } from "../converge/host-lock";
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

/** --lock-wait: seconds to wait for another run holding a host (0: refuse at once). */
export function lockWaitOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LOCK_WAIT_S;
  if (!/^\d+$/.test(value)) throw new UsageError(`--lock-wait: "${value}" is not a number of seconds`);
  return Number(value);
}
