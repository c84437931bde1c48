// `podkit plan <stack>`: what the stack makes, without touching anything:
// hosts and how they are reached, the roles on each, every DNS record.
import { planDns } from "../../dns/plan";
import { rdata } from "../../dns/records";
import { hostFqdn, hostKind, rolesByHost } from "../../stack/derive";
import { loadPod } from "../../stack/pod";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";

const HELP = `usage: podkit plan <stack.yaml> [--json] [--secrets FILE]

Shows the hosts, the roles each runs (in apply order) and every DNS record.
Addresses of hosts that \`pulumi up\` creates are shown as such.`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, { json: { type: "boolean" }, secrets: { type: "string" } }, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  return withStackErrors(async () => {
    const pod = loadPod(args.positionals[0], { providers: hostProviders(), generate: true, secretsFile: args.values.secrets });
    const { stack } = pod;
    const roles = rolesByHost(stack);
    const hosts = Object.keys(stack.hosts).map((name) => ({
      name, fqdn: hostFqdn(stack, name), kind: hostKind(stack, name),
      ipv4: pod.addresses[name]?.ipv4 ?? null, ipv6: pod.addresses[name]?.ipv6 ?? null, roles: roles[name],
    }));
    const records = planDns(stack, pod.dns);
    if (args.values.json) {
      console.log(JSON.stringify({ pod: stack.pod, domains: stack.domains, hosts, records }, null, 2));
      return EXIT.OK;
    }
    console.log(`pod ${stack.pod}: ${stack.domains.join(", ")}\n\nhosts:`);
    for (const h of hosts) {
      const addr = h.kind === "hcloud" ? "(addresses after pulumi up)" : [h.ipv4, h.ipv6].filter(Boolean).join(" ");
      console.log(`  ${h.name.padEnd(8)} ${h.fqdn}  ${h.kind}  ${addr}\n           roles: ${h.roles.join(" → ")}`);
    }
    console.log(`\nDNS records (${records.length}, ${stack.dns.cloudflare ? "Cloudflare" : "zone file"}):`);
    const width = Math.max(...records.map((r) => r.name.length));
    for (const r of records) console.log(`  ${r.name.padEnd(width)} ${r.type.padEnd(5)} ${rdata(r)}`);
    return EXIT.OK;
  });
}
