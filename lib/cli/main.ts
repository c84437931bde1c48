// `podkit` command line: routes a subcommand to its module in ./commands.
// Exit codes follow sysexits(3) where one fits: 0 ok, 1 a check failed,
// 64 usage, 65 bad stack file (data error), 69 host unavailable, 70 internal.
import { fileHashCache } from "../stack/hash-cache";
import { useHashCache } from "../stack/passwords";
import { EXIT, UsageError } from "./exit";

// Commands load on demand (plain require, so the CLI starts fast and tsx's CJS hook applies).
type Command = { run(argv: string[]): Promise<number> };
const COMMANDS: Record<string, { summary: string; load: () => Command }> = {
  validate: { summary: "check stack files, report every problem with file:line:column", load: () => require("./commands/validate") },
  plan: { summary: "show hosts, roles and DNS records a stack makes (--json)", load: () => require("./commands/plan") },
  zone: { summary: "print the stack's DNS records as zone files", load: () => require("./commands/zone") },
  howto: { summary: "the pod as a by-hand how-to (Markdown, or --html): secrets to make, DNS, packages, files, checks, services", load: () => require("./commands/howto") },
  secrets: { summary: "create the generated secrets (DKIM keys) a stack needs", load: () => require("./commands/secrets") },
  schema: { summary: "print the JSON Schema of stack files", load: () => require("./commands/schema") },
  apply: { summary: "converge existing and lab hosts to the stack over SSH", load: () => require("./commands/apply") },
  diff: { summary: "show what apply would change (unified diffs), write nothing", load: () => require("./commands/diff") },
  check: { summary: "check the live pod against its stack: DNS, TLS, ports, blocklists, its own state", load: () => require("./commands/check") },
  backup: { summary: "run the pod's backup now; --list snapshots, --check, --prune", load: () => require("./commands/backup") },
  restore: { summary: "restore a snapshot on the applied pod (services stopped meanwhile)", load: () => require("./commands/restore") },
  invite: { summary: "a one-time link (and QR code) with which a member sets their own password; --reset", load: () => require("./commands/invite") },
  lab: { summary: "local lab: throwaway Debian hosts, lab DNS and CA (up|status|down)", load: () => require("./commands/lab") },
};

export function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  return [
    "usage: podkit <command> [options]",
    "",
    "commands:",
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
    "",
    "`podkit <command> --help` shows the command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name ? EXIT.OK : EXIT.USAGE;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`podkit: unknown command "${name}"\n\n${usage()}`);
    return EXIT.USAGE;
  }
  // Rendered password hashes are kept between runs: a no-op apply stays fast (lib/stack/hash-cache.ts).
  useHashCache(fileHashCache());
  try {
    return await command.load().run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`podkit ${name}: ${err.message}`);
      return EXIT.USAGE;
    }
    throw err;
  }
}
