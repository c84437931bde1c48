// The record type every DNS output shares: the zone file and Cloudflare both
// read these, so no record is defined twice.

export type RecordType = "A" | "AAAA" | "MX" | "TXT" | "SRV" | "CAA" | "NS";

interface Base {
  /** Stable identity, e.g. "mx/example.org"; used for Pulumi resource names. */
  id: string;
  zone: string;
  /** Full name without the trailing dot. */
  name: string;
  ttl: number;
  /** Why the record exists, for `podkit plan` and zone file comments. */
  why: string;
}

export type DnsRecord =
  | (Base & { type: "A" | "AAAA" | "NS"; value: string })
  | (Base & { type: "MX"; priority: number; value: string })
  /** `value` is the whole text; split it with txtChunks for the wire. */
  | (Base & { type: "TXT"; value: string })
  | (Base & { type: "SRV"; priority: number; weight: number; port: number; target: string })
  | (Base & { type: "CAA"; flags: number; tag: "issue" | "issuewild" | "iodef"; value: string });

/** A record before the plan assigns its zone and TTL (Omit that keeps the union apart). */
export type UnplacedRecord = DnsRecord extends infer R ? (R extends DnsRecord ? Omit<R, "zone" | "ttl"> : never) : never;

/**
 * A TXT record's text as DNS character-strings of at most 255 bytes. Longer
 * texts (DKIM keys) must be split, or Cloudflare and zone files disagree.
 */
export function txtChunks(text: string): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 255) chunks.push(text.slice(i, i + 255));
  return chunks.length ? chunks : [""];
}

/** Quoted character-strings as zone files and Cloudflare's TXT content expect them. */
export function quotedTxt(text: string): string {
  return txtChunks(text)
    .map((c) => `"${c.replace(/["\\]/g, (m) => `\\${m}`)}"`)
    .join(" ");
}

/** The record's data in zone-file presentation format. */
export function rdata(r: DnsRecord): string {
  switch (r.type) {
    case "A":
    case "AAAA":
      return r.value;
    case "NS":
      return `${r.value}.`;
    case "MX":
      return `${r.priority} ${r.value}.`;
    case "TXT":
      return quotedTxt(r.value);
    case "SRV":
      return `${r.priority} ${r.weight} ${r.port} ${r.target === "." ? "." : `${r.target}.`}`;
    case "CAA":
      return `${r.flags} ${r.tag} "${r.value}"`;
  }
}
