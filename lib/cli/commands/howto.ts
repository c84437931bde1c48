// `podkit howto <stack>`: the pod as a hand-written how-to, for people who want
// no tool in the loop. Rendered from exactly the state `podkit apply` converges
// to (lib/howto/markdown.ts); `--html` makes it one self-contained page.
import { writeFileSync } from "node:fs";
import { howtoHtml } from "../../howto/html";
import { renderHowto } from "../../howto/markdown";
import { loadPod } from "../../stack/pod";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";

const HELP = `usage: podkit howto <stack.yaml> [--host NAME] [--html] [--out FILE] [--secrets FILE]

Prints, as Markdown, how to build each host of the pod by hand on fresh Debian
hosts, in order: the secrets to make (with OpenSSL, as placeholders: no secret
is ever printed), the DNS records to publish, then per role the packages,
users and directories, every file (a heredoc with its owner and mode), the
daemons' own config checks, the service commands and a check with what it
should print.
  --host NAME   only this host
  --html        one self-contained HTML page (contents, copy buttons)
  --out FILE    write to FILE instead of printing`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { host: { type: "string" }, secrets: { type: "string" }, html: { type: "boolean" }, out: { type: "string" } }, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  return withStackErrors(async () => {
    // generate: the DKIM key and salt key exist from here on, as for `podkit zone`; none is printed.
    const pod = loadPod(args.positionals[0], { providers: hostProviders(), secretsFile: args.values.secrets, generate: true });
    if (args.values.host && !pod.stack.hosts[args.values.host]) throw new UsageError(`--host ${args.values.host}: the stack has no such host (${Object.keys(pod.stack.hosts).join(", ")})`);
    const markdown = renderHowto(pod, args.values.host);
    const text = args.values.html ? howtoHtml(markdown) : markdown;
    if (args.values.out) {
      writeFileSync(args.values.out, text);
      console.error(`wrote ${args.values.out}`);
    } else process.stdout.write(text);
    return EXIT.OK;
  });
}
