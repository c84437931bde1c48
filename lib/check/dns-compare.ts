// The DNS plan against what the zone's authoritative servers answer, record
// by record: each planned record present, missing, or different, and the
// records nobody planned that change what receivers do (a second SPF record
// makes SPF fail for every message; a stray MX sends mail elsewhere). Pure:
// the lookups are in ./dns-lookup.ts, so this is tested without a network.
import type { DnsRecord } from "../dns/records";
import { rdata } from "../dns/records";
import { type CheckResult, ok, problem } from "./result";

/** One record's data as compared: the zone-file presentation, with names lower-cased and absolute. */
export type Observed = Map<string, string[] | Error>;

/** The key a name and type are looked up under. */
export const rrKey = (name: string, type: string): string => `${name.toLowerCase().replace(/\.$/, "")}|${type}`;

/** A planned record in the same form observed ones are put in (see ./dns-lookup.ts, `canonical*`). */
export function plannedData(r: DnsRecord): string {
  switch (r.type) {
    case "TXT": return r.value;
    case "CAA": return `${r.flags} ${r.tag} ${r.value}`;
    case "AAAA": return r.value.toLowerCase();
    default: return rdata(r).toLowerCase();
  }
}

/** The line to put in the zone (or the record to create at the DNS provider). */
export const zoneLine = (r: DnsRecord): string => `${r.name}. ${r.ttl} IN ${r.type} ${rdata(r)}`;

/** The dig command that asks `server` ("10.77.0.1:5353", "[2001:db8::53]", "192.0.2.53") directly. */
export function dig(server?: string): string {
  if (!server) return "dig @<name server>";
  const m = server.match(/^\[(.+)\](?::(\d+))?$/) ?? server.match(/^([^:]+)(?::(\d+))?$/);
  if (!m) return `dig @${server}`;
  return `dig @${m[1]}${m[2] && m[2] !== "53" ? ` -p ${m[2]}` : ""}`;
}

const isSpf = (text: string) => /^v=spf1(\s|$)/i.test(text);
const isDmarc = (text: string) => /^v=DMARC1(;|\s|$)/i.test(text);

/** What a missing or wrong record does to mail and chat, and how bad that is. */
export function impact(r: DnsRecord): { status: "warn" | "fail"; meaning: string } {
  const id = r.id;
  const fail = (meaning: string) => ({ status: "fail" as const, meaning });
  const warn = (meaning: string) => ({ status: "warn" as const, meaning });
  if (r.type === "MX") return fail(`mail for ${r.name} is not delivered to the pod`);
  if (r.type === "A" || r.type === "AAAA") return fail(`clients and servers looking up ${r.name} do not reach the pod`);
  if (r.type === "CAA") return warn(`the CAA set of ${r.name} is not the one planned: a CA the pod does not use may issue for it, or the one it uses may refuse`);
  if (r.type === "SRV") {
    if (/^_xmpps?-server\./.test(r.name)) return fail(`other chat servers do not find the pod's chat server for ${r.name.replace(/^_xmpps?-server\._tcp\./, "")}: federation fails`);
    return warn(`apps do not find the pod's server by themselves (${r.name}): users must type it in`);
  }
  if (r.type === "TXT") {
    if (id.includes("._domainkey.")) return fail(`receivers cannot verify the pod's DKIM signatures: DMARC fails and mail lands in spam or is refused`);
    if (isSpf(r.value)) return fail(`receivers cannot verify by SPF that the pod may send for ${r.name}: more of its mail lands in spam`);
    if (r.name.startsWith("_dmarc.")) return fail(`receivers apply no DMARC policy for ${r.name.slice(7)} and send no reports: large providers file its mail as spam`);
    if (r.name.includes("._report._dmarc.")) return warn(`receivers send no DMARC reports for ${r.name.split("._report.")[0]} to the other domain`);
    if (r.name.startsWith("_mta-sts.")) return warn(`senders do not learn (or do not refresh) the pod's MTA-STS policy: mail to it can be downgraded to plain text`);
    if (r.name.startsWith("_smtp._tls.")) return warn(`senders do not report TLS failures delivering to ${r.name.slice(11)} (TLS-RPT)`);
  }
  return warn(`${r.name} ${r.type} is not as planned`);
}

/**
 * Plan vs observed. `observed` holds, for every name and type the plan has,
 * what the authoritative servers answered (or the error asking them).
 * `publishHow` says where records are changed ("in the zone file", "at Cloudflare: pulumi up").
 */
export function compareRecords(planned: DnsRecord[], observed: Observed, publishHow: string, servers: string[] = []): CheckResult[] {
  const results: CheckResult[] = [];
  const byKey = new Map<string, DnsRecord[]>();
  for (const r of planned) {
    const k = rrKey(r.name, r.type);
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  for (const [key, records] of byKey) {
    const [name, type] = key.split("|");
    const seen = observed.get(key);
    if (seen instanceof Error || seen === undefined) {
      results.push(problem("fail", "dns", `dns/${type}/${name}`, `${name} ${type}: could not ask the zone's servers (${seen?.message ?? "not looked up"})`,
        "nobody can tell whether the pod's records are published; resolvers may fail the same way", `check that the zone's name servers answer: ${dig(servers[0])} ${name} ${type}`));
      continue;
    }
    const wanted = records.map(plannedData);
    const missing = records.filter((r) => !seen.includes(plannedData(r)));
    const extra = seen.filter((v) => !wanted.includes(v));
    for (const r of records.filter((r) => !missing.includes(r))) results.push(ok("dns", `dns/${r.id}`, `${r.name} ${r.type} ${rdata(r)}`));
    // Extras that matter at this name: another SPF beside ours, a second DMARC, any stray MX, address, SRV, CAA.
    // Other TXT records beside SPF at a domain (site verifications) are none of the pod's business.
    const texts = records.map(plannedData);
    const relevant = extra.filter((v) => type !== "TXT" || texts.some((t) => (isSpf(t) && isSpf(v)) || (isDmarc(t) && isDmarc(v)) || (!isSpf(t) && !isDmarc(t))));
    const paired = missing.length === 1 && relevant.length === 1;
    for (const r of missing) {
      const { status, meaning } = impact(r);
      const summary = paired ? `${r.name} ${r.type} is different: published ${relevant[0]}, planned ${rdata(r)}` : `${r.name} ${r.type} ${rdata(r)} is missing`;
      const fix = paired ? `replace the record ${publishHow}: ${zoneLine(r)}` : `publish ${publishHow}: ${zoneLine(r)}`;
      results.push(problem(status, "dns", `dns/${r.id}`, summary, meaning, fix));
    }
    if (paired) continue;
    for (const v of relevant) {
      const first = records[0];
      const extraId = `dns/extra/${type}/${name}/${v}`;
      const remove = `remove ${publishHow}: ${name}. IN ${type} ${type === "TXT" ? JSON.stringify(v) : v}`;
      if (type === "TXT" && isSpf(v)) {
        results.push(problem("fail", "dns", extraId, `${name} has a second SPF record: ${v}`, "with two SPF records SPF fails (permerror) for every message from the domain: receivers treat its mail as unauthenticated", remove));
      } else if (type === "TXT" && isDmarc(v)) {
        results.push(problem("fail", "dns", extraId, `${name} has a second DMARC record: ${v}`, "with two DMARC records receivers apply none", remove));
      } else if (type === "MX") {
        results.push(problem("fail", "dns", extraId, `${name} has an MX the plan does not: ${v}`, "senders deliver part of the domain's mail to that server instead of the pod", remove));
      } else {
        const { meaning } = impact(first);
        results.push(problem(type === "A" || type === "AAAA" ? "fail" : "warn", "dns", extraId, `${name} ${type} has a record the plan does not: ${v}`, meaning, remove));
      }
    }
  }
  return results;
}
