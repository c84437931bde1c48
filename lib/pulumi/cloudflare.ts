// The pod's DNS records at Cloudflare: one cloudflare.DnsRecord per record of
// the plan, named after the record's id, with the presentation of
// lib/dns/cloudflare.ts. Proxying is off: mail and XMPP are not HTTP.
// Before any record is created, the records already in each zone are read
// (getDnsRecords, provider 6.x) and checked against the plan
// (lib/dns/conflicts.ts): a conflict stops `pulumi preview` and `pulumi up`
// with the list and what to do, and no record of the pod is created.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import { cloudflareCanHold, cloudflareRecordData, recordResourceName } from "../dns/cloudflare";
import { formatConflicts, zoneConflicts, type DnsConflict } from "../dns/conflicts";
import type { DnsRecord } from "../dns/records";
import type { Placeholders } from "./placeholders";

export interface CloudflareDnsArgs {
  /** The plan (planDns), possibly holding placeholders for values not known yet. */
  records: DnsRecord[];
  /** Values for those placeholders (host addresses, the DKIM key). */
  placeholders: Placeholders;
  /** Zone ids by zone name (dns.cloudflare.zoneIds); other zones are looked up by name. */
  zoneIds?: Record<string, string>;
}

export class CloudflareDns extends pulumi.ComponentResource {
  /** Cloudflare record ids by the plan's record id. */
  readonly recordIds: pulumi.Output<Record<string, string>>;
  /** Records already in the zones that conflict with the plan (empty when the records could be created). */
  readonly conflicts: pulumi.Output<DnsConflict[]>;

  constructor(name: string, args: CloudflareDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    // The type keeps its old module name (dns): every record's URN is derived from it.
    super("podkit:dns:CloudflareDns", name, {}, opts);
    const zoneIds = new Map<string, pulumi.Input<string>>();
    const zoneId = (zone: string): pulumi.Input<string> => {
      if (!zoneIds.has(zone)) {
        zoneIds.set(zone, args.zoneIds?.[zone] ?? cloudflare.getZoneOutput({ filter: { name: zone } }, { parent: this }).id);
      }
      return zoneIds.get(zone)!;
    };

    // Every zone's existing records, checked against the plan (placeholders do not
    // matter: a conflict is decided by name, type and kind of record).
    const zones = [...new Set(args.records.map((r) => r.zone))];
    this.conflicts = pulumi.all(zones.map((zone) =>
      cloudflare.getDnsRecordsOutput({ zoneId: zoneId(zone), maxItems: 5000 }, { parent: this })
        .apply((found) => zoneConflicts(zone, args.records, found.results ?? []))))
      .apply((lists) => lists.flat());
    // Each record's zone id waits for the check: with a conflict, none is created.
    // The list is said once, on this component; each record fails with a pointer to it.
    const checked = this.conflicts.apply((cs) => {
      if (cs.length) pulumi.log.error(formatConflicts(cs), this);
      return cs.length === 0;
    });
    const checkedZoneId = (zone: string) => pulumi.all([zoneId(zone), checked]).apply(([id, ok]) => {
      if (!ok) throw new pulumi.RunError("not created: records already in the zone conflict with the pod's (listed on the dns component)");
      return id;
    });

    const names = new Map<string, string>();
    const ids: Record<string, pulumi.Output<string>> = {};
    const held = args.records.filter(cloudflareCanHold);
    const left = args.records.filter((r) => !cloudflareCanHold(r));
    if (left.length) {
      pulumi.log.info(`not at Cloudflare, which keeps no "." SRV target: ${left.map((r) => `${r.name} (${r.why})`).join(", ")}`, this);
    }
    for (const record of held) {
      // Named after the record's id, never its position: adding a record renames no other.
      const resName = `${name}-${recordResourceName(record.id)}`;
      const clash = names.get(resName);
      if (clash) throw new Error(`DNS records "${clash}" and "${record.id}" would get the same resource name ${resName}`);
      names.set(resName, record.id);

      const data = args.placeholders.resolve(record).apply(cloudflareRecordData);
      const r = new cloudflare.DnsRecord(resName, {
        zoneId: checkedZoneId(record.zone),
        name: record.name,
        type: record.type,
        ttl: record.ttl,
        proxied: false,
        content: data.apply((d) => d.content),
        priority: data.apply((d) => d.priority),
        data: data.apply((d) => d.data),
        comment: `podkit: ${record.why}`.slice(0, 100), // 100 characters is the free plan's limit
      }, { parent: this });
      ids[record.id] = r.id;
    }
    this.recordIds = pulumi.output(ids);
    this.registerOutputs({ recordIds: this.recordIds, conflicts: this.conflicts });
  }
}
