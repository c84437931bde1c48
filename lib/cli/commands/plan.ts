// `podkit plan <stack>`: what the stack makes, without touching anything:
// hosts and how they are reached, the roles on each, every DNS record.
import { planDns } from "../../dns/plan";
import { rdata } from "../../dns/records";
import { hostFqdn, hostKind, rolesByHost } from "../../stack/derive";
import { loadPod } from "../../stack/pod";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { probeHosts } from "../probe";
import { unsupportedHost } from "../../converge/host-facts";
import { withStackErrors } from "../report";

const HELP = `usage: podkit plan <stack.yaml> [--json] [--secrets FILE] [--offline] [-i KEY]

Shows the hosts, what each is (asked over SSH when podkit can reach it, else
"(not probed)"), the roles each runs (in apply order) and every DNS record.
Addresses of hosts that \`pulumi up\` creates are shown as such.
  --offline       do not connect: each host as its kind and the stack say
  -i, --identity  SSH private key for existing hosts (default: the SSH agent)`;

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, {
    json: { type: "boolean" }, secrets: { type: "string" }, offline: { type: "boolean" }, identity: { type: "string", short: "i" },
  }, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  return withStackErrors(async () => {
    const pod = loadPod(args.positionals[0], { providers: hostProviders(), generate: true, secretsFile: args.values.secrets });
    const { stack } = pod;
    const roles = rolesByHost(stack);
    const probed = await probeHosts(pod, { offline: args.values.offline, identity: args.values.identity });
    const hosts = Object.keys(stack.hosts).map((name) => ({
      name, fqdn: hostFqdn(stack, name), kind: hostKind(stack, name),
      profile: probed[name].profile, is: probed[name].description, notProbed: probed[name].notProbed,
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
      console.log(`  ${h.name.padEnd(8)} ${h.fqdn}  ${h.kind}  ${addr}\n           is: ${h.is}`);
      // A published AAAA that leads nowhere: mail servers that prefer IPv6 try it first.
      if (!h.notProbed && !h.profile.ipv6 && h.ipv6) console.log(`           warning: ${h.ipv6} is published as AAAA, but the host has no IPv6 network: remove hosts.${h.name}.existing.address6`);
      // A release podkit has no configs for: apply would stop at this host, so plan says it first.
      const refused = h.notProbed ? undefined : unsupportedHost(h.profile);
      if (refused) console.log(`           warning: podkit apply will refuse this host: ${refused}`);
      console.log(`           roles: ${h.roles.join(" → ")}`);
    }
    console.log(`\nDNS records (${records.length}, ${stack.dns.cloudflare ? "Cloudflare" : "zone file"}):`);
    const width = Math.max(...records.map((r) => r.name.length));
    for (const r of records) console.log(`  ${r.name.padEnd(width)} ${r.type.padEnd(5)} ${rdata(r)}`);
    return EXIT.OK;
  });
}
