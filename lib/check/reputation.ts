// How the rest of the world sees the pod's mail: its addresses on the DNS
// blocklists the stack uses itself (mail.dnsbl: a list good enough to refuse
// others by is one receivers refuse the pod by), its domains on Spamhaus's
// domain list when ZEN is among them. Asked through a resolver (Spamhaus
// answers 127.255.255.x to queries from public resolvers: not a listing).
// Outgoing port 25 is judged on the pod itself (the check script).
import type { Resolver } from "node:dns/promises";
import type { Stack } from "../stack/schema";
import { lookup } from "./dns-lookup";
import { type CheckResult, ok, problem, skip } from "./result";

export interface ReputationInput {
  stack: Stack;
  hosts: string[];
  addresses: Record<string, { ipv4?: string; ipv6?: string }>;
  recursive: Resolver;
}

/** The blocklist name of an IPv4 address: octets reversed, under the zone. */
export const dnsblName = (ipv4: string, zone: string) => `${ipv4.split(".").reverse().join(".")}.${zone}`;

/** An answer in 127.0.0.2-127.0.0.255 is a listing; 127.255.255.x is the list refusing the query; nothing is not listed. */
export function listing(answers: string[]): "listed" | "refused" | "clean" {
  if (answers.some((a) => /^127\.0\.0\.(\d+)$/.test(a) && Number(a.split(".")[3]) >= 2)) return "listed";
  if (answers.some((a) => a.startsWith("127.255.255."))) return "refused";
  return "clean";
}

export async function reputationChecks(c: ReputationInput): Promise<CheckResult[]> {
  const mail = c.stack.mail;
  if (!mail || !c.hosts.includes(mail.host)) return [];
  const address = c.addresses[mail.host]?.ipv4;
  const sites = mail.dnsbl.sites.map((s) => s.zone);
  if (!sites.length) return [skip("reputation", "reputation/dnsbl", "no blocklists in mail.dnsbl: the pod's addresses were not looked up on any")];
  const jobs: Promise<CheckResult>[] = [];
  if (address) for (const zone of sites) jobs.push(onList(c, `reputation/dnsbl/${zone}/${address}`, dnsblName(address, zone), `${address} on ${zone}`, mail.host, `https://check.spamhaus.org/ or the list's own removal page for ${address}; first find why it was listed (an account sending spam: journalctl -u postfix)`));
  if (sites.includes("zen.spamhaus.org")) {
    for (const d of c.stack.domains) jobs.push(onList(c, `reputation/dbl/${d}`, `${d}.dbl.spamhaus.org`, `${d} on dbl.spamhaus.org`, mail.host, `https://check.spamhaus.org/ for ${d}`));
  }
  return Promise.all(jobs);
}

async function onList(c: ReputationInput, id: string, name: string, what: string, host: string, fix: string): Promise<CheckResult> {
  let answers: string[];
  try {
    answers = await lookup(c.recursive, name, "A");
  } catch (err) {
    return skip("reputation", id, `${what}: could not ask (${(err as Error).message})`, host);
  }
  const seen = listing(answers);
  if (seen === "refused") return skip("reputation", id, `${what}: the list refused this resolver's query (${answers.join(", ")}); ask it from the pod`, host);
  if (seen === "clean") return ok("reputation", id, `${what}: not listed`, host);
  const why = (await lookup(c.recursive, name, "TXT").catch(() => [] as string[]))[0];
  return problem("fail", "reputation", id, `${what}: listed (${answers.join(", ")}${why ? `: ${why}` : ""})`,
    "receivers that use this list refuse the pod's mail", fix, host);
}
