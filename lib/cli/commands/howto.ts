// `podkit howto <stack>`: the pod as a hand-written how-to, for people who want
// no tool in the loop. Rendered from exactly the state `podkit apply` converges
// to: the same packages, files and commands, in the same order.
import { changeVerb, dirModeOf, groupOf, modeOf, ownerOf } from "../../converge/changes";
import { roleContext } from "../../converge/pod";
import { roleNamed } from "../../converge/registry";
import type { RoleState } from "../../converge/types";
import { hostFqdn, rolesByHost } from "../../stack/derive";
import { loadPod } from "../../stack/pod";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";
import { mustRelease } from "../../stack/releases";

const HELP = `usage: podkit howto <stack.yaml> [--host NAME] [--secrets FILE]

Prints, as Markdown, how to build each host of the pod by hand: the packages to
install, every file with its content, mode and owner, the checks to run before
a daemon loads its config, and the services to enable. Secret files (password
hashes, keys) are described, never printed.`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { host: { type: "string" }, secrets: { type: "string" } }, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  return withStackErrors(async () => {
    const pod = loadPod(args.positionals[0], { providers: hostProviders(), secretsFile: args.values.secrets, generate: true });
    const { stack } = pod;
    const out: string[] = [`# Building pod ${stack.pod} by hand`, "", `From \`${pod.file}\`, as \`podkit apply\` would. Run everything as root, on the Debian release each host names.`];
    for (const [host, roles] of Object.entries(rolesByHost(stack))) {
      if (args.values.host && args.values.host !== host) continue;
      // A secret without a value shows as a placeholder: the how-to is for reading, not applying.
      const ctx = roleContext(stack, host, (n) => pod.secrets.get(n) ?? `<secret ${n}>`, pod.hosts[host].profile(stack, host));
      const release = mustRelease(ctx.profile.release);
      out.push("", `## Host ${host} (${hostFqdn(stack, host)}), Debian ${release.version} (${release.codename})`);
      for (const role of roles) out.push(...section(roleNamed(role).state(ctx)));
    }
    console.log(out.join("\n"));
    return EXIT.OK;
  });
}

function section(s: RoleState): string[] {
  const out = ["", `### Role ${s.role}`, "", `(What it does: roles/${s.role}/README.md.)`, ""];
  const sh: string[] = [];
  if (s.debconf?.length) sh.push("debconf-set-selections <<'EOF'", ...s.debconf, "EOF");
  if (s.packages.length) sh.push(`apt-get install --no-install-recommends ${s.packages.join(" ")}`);
  for (const u of s.users ?? []) sh.push(`useradd --system --user-group --home-dir ${u.home} --shell /usr/sbin/nologin ${u.name}`);
  for (const d of s.dirs ?? []) sh.push(`install -d -m ${dirModeOf(d).toString(8)} -o ${ownerOf(d)} -g ${groupOf(d)} ${d.path}`);
  for (const a of s.absent ?? []) sh.push(`rm -f ${a}`);
  if (sh.length) out.push("```sh", ...sh, "```", "");
  for (const f of s.files) {
    const meta = `mode ${modeOf(f).toString(8)}, owner ${ownerOf(f)}:${groupOf(f)}`;
    if (f.secret) {
      out.push(`- \`${f.path}\` (${meta}): secret — password hashes or keys from the stack's secrets; not printed here.`);
    } else {
      out.push(`- \`${f.path}\` (${meta}):`, "", "```", f.content.trimEnd(), "```", "");
    }
  }
  const after: string[] = [];
  for (const c of s.checks ?? []) after.push(`# check before loading: ${c.name}`);
  for (const h of s.handlers ?? []) after.push(`${h.run}    # ${h.name}`);
  for (const sv of s.services ?? []) after.push(`systemctl enable --now ${sv.unit} && systemctl ${changeVerb(sv)} ${sv.unit}`);
  if (after.length) out.push("", "Then:", "", "```sh", ...after, "```");
  return out;
}
