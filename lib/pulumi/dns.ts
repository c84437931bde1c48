// The pod's DNS under `pulumi up`: the one plan (planDns), made with
// placeholders for what is not known before the hosts and the DKIM key exist,
// then pushed to Cloudflare or rendered as zone files (a stack output).
import * as pulumi from "@pulumi/pulumi";
import { CloudflareDns } from "./cloudflare";
import { planDns } from "../dns/plan";
import type { DnsRecord } from "../dns/records";
import { renderZones } from "../dns/zonefile";
import type { DkimKey } from "../infra/dkim";
import type { PodHost } from "../infra/host";
import type { Stack } from "../stack/schema";
import { Placeholders } from "./placeholders";

export interface PodDns {
  /** The record set, with placeholders: its shape is known at plan time. */
  plan: DnsRecord[];
  /** The same records with every value filled in. */
  records: pulumi.Output<DnsRecord[]>;
  /** Zone file text by zone, for dns.zonefile stacks. */
  zoneFiles?: pulumi.Output<Record<string, string>>;
  cloudflare?: CloudflareDns;
}

export function podDns(stack: Stack, hosts: Record<string, PodHost>, dkim: DkimKey | undefined): PodDns {
  const ph = new Placeholders();
  const addresses: Record<string, { ipv4: string; ipv6?: string }> = {};
  for (const [name, host] of Object.entries(hosts)) {
    const existing = stack.hosts[name].existing;
    // An existing host's IPv6 is optional, and whether it has one decides
    // whether AAAA records exist at all, so it is read from the file; a
    // Hetzner host always has both.
    const hasIpv6 = existing ? existing.address6 !== undefined : true;
    addresses[name] = {
      ipv4: ph.add(`${name}:ipv4`, host.ipv4),
      ipv6: hasIpv6 ? ph.add(`${name}:ipv6`, host.ipv6.apply((a) => a ?? "")) : undefined,
    };
  }
  const plan = planDns(stack, { addresses, dkimPublicKey: dkim ? ph.add("dkim", dkim.publicKey) : undefined });
  const records = ph.resolve(plan);

  if (stack.dns.cloudflare) {
    return { plan, records, cloudflare: new CloudflareDns("dns", { records: plan, placeholders: ph, zoneIds: stack.dns.cloudflare.zoneIds }) };
  }
  // SOA serial: the time of the run, so it only ever grows (the output changes on every run; no resource does).
  const zoneFiles = records.apply((rs) => Object.fromEntries(renderZones(stack, rs).map((z) => [z.zone, z.text])));
  return { plan, records, zoneFiles };
}
