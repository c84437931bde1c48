// The DNS plan as Cloudflare records (provider 6.x: `cloudflare.DnsRecord`, not
// the deprecated `Record`). The records are exactly planDns's, the same ones
// `podkit zone` writes to a zone file; only their presentation differs:
// full names without the trailing dot, SRV and CAA fields in `data`, TXT
// pre-split into quoted 255-byte strings (Cloudflare stores a long TXT that way
// anyway, so an unsplit value would show a diff on every run). Proxying is off:
// mail and XMPP are not HTTP.
import * as cloudflare from "@pulumi/cloudflare";
import * as pulumi from "@pulumi/pulumi";
import type { Placeholders } from "../pulumi/placeholders";
import { quotedTxt, type DnsRecord } from "./records";

export interface CloudflareDnsArgs {
  /** The plan (planDns), possibly holding placeholders for values not known yet. */
  records: DnsRecord[];
  /** Values for those placeholders (host addresses, the DKIM key). */
  placeholders: Placeholders;
  /** Zone ids by zone name (dns.cloudflare.zoneIds); other zones are looked up by name. */
  zoneIds?: Record<string, string>;
}

/** The fields of a cloudflare.DnsRecord that carry a record's data. */
export interface CloudflareRecordData {
  content?: string;
  priority?: number;
  data?: { priority: number; weight: number; port: number; target: string } | { flags: number; tag: string; value: string };
}

export function cloudflareRecordData(r: DnsRecord): CloudflareRecordData {
  switch (r.type) {
    case "A":
    case "AAAA":
    case "NS":
      return { content: r.value };
    case "MX":
      return { content: r.value, priority: r.priority };
    case "TXT":
      return { content: quotedTxt(r.value) };
    case "SRV":
      // The API wants the priority in data; it also reports it at the top level,
      // so setting both keeps the state free of a perpetual diff.
      return { priority: r.priority, data: { priority: r.priority, weight: r.weight, port: r.port, target: r.target } };
    case "CAA":
      return { data: { flags: r.flags, tag: r.tag, value: r.value } };
  }
}

/** A Pulumi resource name from a record's stable id ("txt/_dmarc.example.org" -> "txt-_dmarc.example.org"). */
export function recordResourceName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "-");
}

export class CloudflareDns extends pulumi.ComponentResource {
  /** Cloudflare record ids by the plan's record id. */
  readonly recordIds: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: CloudflareDnsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("podkit:dns:CloudflareDns", name, {}, opts);
    const zoneIds = new Map<string, pulumi.Input<string>>();
    const zoneId = (zone: string): pulumi.Input<string> => {
      if (!zoneIds.has(zone)) {
        zoneIds.set(zone, args.zoneIds?.[zone] ?? cloudflare.getZoneOutput({ filter: { name: zone } }, { parent: this }).id);
      }
      return zoneIds.get(zone)!;
    };

    const names = new Map<string, string>();
    const ids: Record<string, pulumi.Output<string>> = {};
    for (const record of args.records) {
      // Named after the record's id, never its position: adding a record renames no other.
      const resName = `${name}-${recordResourceName(record.id)}`;
      const clash = names.get(resName);
      if (clash) throw new Error(`DNS records "${clash}" and "${record.id}" would get the same resource name ${resName}`);
      names.set(resName, record.id);

      const data = args.placeholders.resolve(record).apply(cloudflareRecordData);
      const r = new cloudflare.DnsRecord(resName, {
        zoneId: zoneId(record.zone),
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
    this.registerOutputs({ recordIds: this.recordIds });
  }
}
