// Records already in a zone that would break the pod's DNS once podkit adds
// its own: a second SPF record (both are then a permerror, RFC 7208 4.5), a
// second DMARC record (receivers then apply none, RFC 7489 6.6.3), another MX
// (senders split mail between the old server and the pod), a CNAME where the
// pod needs an address (a name with a CNAME has no other data, RFC 1034
// 3.6.2), another address for one of the pod's names, and an identical record
// that Cloudflare refuses to create twice. Each comes with what to do. Records
// podkit made itself (their comment starts "podkit:") are not conflicts.
import type { DnsRecord } from "./records";

/** A record as the zone holds it (Cloudflare's getDnsRecords result, trimmed to what this reads). */
export interface ZoneRecord {
  id?: string;
  name: string;
  type: string;
  /** Presentation content: "10 mx.example.net" style for MX is not used; Cloudflare gives the target here. */
  content?: string;
  priority?: number;
  comment?: string | null;
}

export interface DnsConflict {
  zone: string;
  record: ZoneRecord;
  /** What goes wrong if it stays. */
  problem: string;
  /** What the user does about it. */
  fix: string;
}

/** The comment every record podkit creates starts with (lib/pulumi/cloudflare.ts). */
export const PODKIT_COMMENT = "podkit:";

const lower = (s: string) => s.toLowerCase().replace(/\.$/, "");
/** A TXT content without Cloudflare's quoting: `"a" "b"` -> `ab`. */
export function txtText(content: string): string {
  const parts = [...content.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1"));
  return parts.length ? parts.join("") : content;
}

/** The records of `zone` already present that conflict with `plan`'s records in it. */
export function zoneConflicts(zone: string, plan: DnsRecord[], existing: ZoneRecord[]): DnsConflict[] {
  const planned = plan.filter((r) => r.zone === zone);
  const out: DnsConflict[] = [];
  for (const r of existing) {
    if (r.comment?.startsWith(PODKIT_COMMENT)) continue;
    const name = lower(r.name);
    const here = planned.filter((p) => p.name === name);
    if (!here.length) continue;
    const conflict = (problem: string, fix: string) => out.push({ zone, record: r, problem, fix });
    const content = r.content ?? "";
    const same = here.find((p) => p.type === r.type && plannedContent(p) === (r.type === "TXT" ? txtText(content) : lower(content)));
    if (same) {
      conflict(`the same record exists, not made by podkit: Cloudflare refuses to create it again`,
        "delete it; podkit creates it again with its own comment (nothing changes for anyone resolving it)");
      continue;
    }
    switch (r.type) {
      case "CNAME":
        conflict(`a CNAME where the pod publishes ${[...new Set(here.map((p) => p.type))].join(", ")}: a name with a CNAME can hold nothing else, so Cloudflare refuses the pod's records`,
          `delete the CNAME; the pod serves ${name} itself`);
        break;
      case "MX":
        if (here.some((p) => p.type === "MX")) {
          conflict(`another MX: senders would split mail for ${name} between ${lower(content)} and the pod`,
            "move the mailboxes from the old provider first, then delete this MX");
        }
        break;
      case "A":
      case "AAAA":
        if (here.some((p) => p.type === r.type)) {
          conflict(`another address for ${name}: clients would reach ${content} instead of the pod some of the time`,
            "delete it (it points at a machine that is not the pod's)");
        }
        break;
      case "TXT": {
        const text = txtText(content);
        const kind = /^v=spf1(\s|$)/i.test(text) ? "SPF" : /^v=DMARC1(;|\s|$)/i.test(text) ? "DMARC" : /^v=DKIM1(;|\s|$)/i.test(text) ? "DKIM" : undefined;
        if (!kind || !here.some((p) => p.type === "TXT" && plannedContent(p).toLowerCase().startsWith(`v=${kind.toLowerCase()}1`))) break;
        if (kind === "SPF") {
          conflict("a second SPF record: receivers then fail SPF for every message from the domain (permerror, RFC 7208 4.5)",
            "delete it; if it allowed another sender (a newsletter service, say), put that sender's include: in mail.relay.spf");
        } else if (kind === "DMARC") {
          conflict("a second DMARC record: receivers then apply no DMARC policy at all (RFC 7489 6.6.3)", "delete it; podkit's says where reports go (mail.dmarc)");
        } else {
          conflict("another DKIM key under the pod's selector: mail signed by the pod would fail DKIM", "delete it, or set another mail.dkim.selector");
        }
        break;
      }
      case "SRV":
        if (here.some((p) => p.type === "SRV")) {
          conflict(`another ${name} service record: clients could be sent to ${content}`, "delete it");
        }
        break;
    }
  }
  return out;
}

function plannedContent(r: DnsRecord): string {
  switch (r.type) {
    case "TXT": return r.value;
    case "SRV": return `${r.weight} ${r.port} ${r.target}`;
    case "CAA": return `${r.flags} ${r.tag} "${r.value}"`;
    default: return lower(r.value);
  }
}

/** The conflicts as the message `pulumi up` stops with. */
export function formatConflicts(conflicts: DnsConflict[]): string {
  const lines = conflicts.map((c) => {
    const r = c.record;
    return `  ${c.zone}: ${r.name} ${r.type} ${r.type === "MX" && r.priority !== undefined ? `${r.priority} ` : ""}${r.content ?? ""}\n` +
      `      ${c.problem}.\n      What to do: ${c.fix}.`;
  });
  return `${conflicts.length} record(s) already in the Cloudflare zone(s) conflict with the pod's; no DNS record was created:\n${lines.join("\n")}\n` +
    "Delete or change them in the Cloudflare dashboard (DNS > Records), then run `pulumi up` again.";
}
