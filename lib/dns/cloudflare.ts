// The DNS plan as Cloudflare presents records (provider 6.x: `cloudflare.DnsRecord`,
// not the deprecated `Record`). The records are exactly planDns's, the same ones
// `podkit zone` writes to a zone file; only their presentation differs:
// full names without the trailing dot, SRV and CAA fields in `data`, TXT
// pre-split into quoted 255-byte strings (Cloudflare stores a long TXT that way
// anyway, so an unsplit value would show a diff on every run). The resources
// themselves are made in lib/pulumi/cloudflare.ts.
import { quotedTxt, type DnsRecord } from "./records";

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

/**
 * Whether Cloudflare can hold the record as planned. A null SRV record
 * (target ".", RFC 2782: "this service is not offered here") cannot: the API
 * keeps no "." target and hands back an empty one, so the record would differ
 * on every run (and providers have failed to create it at all). Such a record
 * only tells clients not to try a port podkit keeps closed anyway; leaving it
 * out costs a client one refused connection.
 */
export function cloudflareCanHold(r: DnsRecord): boolean {
  return !(r.type === "SRV" && r.target === ".");
}

/** A Pulumi resource name from a record's stable id ("txt/_dmarc.example.org" -> "txt-_dmarc.example.org"). */
export function recordResourceName(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, "-");
}
