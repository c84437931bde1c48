// DNS as published against the plan, asked of the zones' own authoritative
// servers; and the three things a record alone does not show: the DKIM key in
// DNS is the one the pod signs with, the MTA-STS policy served over HTTPS is
// the one whose id DNS carries, and CAA lets the CA the pod uses issue.
import type { Resolver } from "node:dns/promises";
import type { DnsRecord } from "../dns/records";
import { mtaStsPolicy } from "../../roles/mail/mta-sts";
import type { CheckEnvironment } from "../stack/host-provider";
import type { Stack } from "../stack/schema";
import { compareRecords, dig, rrKey } from "./dns-compare";
import { authoritativeServers, lookup, observe, resolverAt } from "./dns-lookup";
import { type CheckResult, ok, problem, skip } from "./result";
import { httpsGet } from "./tls-probe";

export interface DnsCheckInput {
  stack: Stack;
  file: string;
  records: DnsRecord[];
  env: CheckEnvironment;
  recursive: Resolver;
  /** The DKIM public key the mail host signs with (from its own check script), when it could be read. */
  podDkimKey: Promise<string | undefined>;
  timeoutMs: number;
}

/** Where a record is changed, for the fix lines. */
export const publishHow = (stack: Stack, file: string): string =>
  stack.dns.cloudflare ? "at Cloudflare (`pulumi up` creates it)" : `in the zone file (\`podkit zone ${file}\` prints it)`;

export async function dnsChecks(c: DnsCheckInput): Promise<CheckResult[]> {
  const zones = [...new Set(c.records.map((r) => r.zone))];
  const perZone = await Promise.all(zones.map(async (zone) => {
    let servers: string[];
    try {
      servers = c.env.authoritative ?? (await authoritativeServers(c.recursive, zone)).addresses;
    } catch (err) {
      return { zone, resolver: undefined, results: [problem("fail", "dns", `dns/zone/${zone}`, `cannot find the name servers of ${zone}: ${(err as Error).message}`,
        "resolvers cannot find any of the pod's records: no mail is delivered to it", `delegate ${zone} to the name servers that serve its zone (at the registrar), then dig NS ${zone}`)] };
    }
    const resolver = resolverAt(servers);
    const records = c.records.filter((r) => r.zone === zone);
    const observed = await observe(resolver, records.map((r) => rrKey(r.name, r.type)));
    // Servers that answer nothing get one line, not one per record.
    const answers = [...observed.values()];
    if (answers.every((a) => a instanceof Error)) {
      return { zone, resolver: undefined, results: [problem("fail", "dns", `dns/zone/${zone}`, `the name servers of ${zone} (${servers.join(", ")}) do not answer: ${(answers[0] as Error).message}`,
        "resolvers cannot find any of the pod's records: no mail is delivered to it and no client finds it", `check that they serve the zone: ${dig(servers[0])} ${zone} SOA`)] };
    }
    return { zone, resolver, results: [ok("dns", `dns/zone/${zone}`, `${zone}: asked its name servers ${servers.join(", ")}`), ...compareRecords(records, observed, publishHow(c.stack, c.file), servers)] };
  }));
  const results = perZone.flatMap((z) => z.results);
  const resolverFor = (name: string) => perZone.filter((z) => name === z.zone || name.endsWith(`.${z.zone}`)).sort((a, b) => b.zone.length - a.zone.length)[0]?.resolver;
  if (c.stack.mail) {
    results.push(...await dkimMatchesPod(c, resolverFor));
    results.push(...await mtaStsServed(c));
  }
  results.push(...await caaPermitsCa(c, resolverFor));
  return results;
}

/** The p= of a DKIM record. */
export const dkimP = (text: string): string | undefined => text.match(/(?:^|;)\s*p=([^;]*)/)?.[1].replace(/\s+/g, "");

async function dkimMatchesPod(c: DnsCheckInput, resolverFor: (name: string) => Resolver | undefined): Promise<CheckResult[]> {
  const podKey = await c.podDkimKey;
  const selector = c.stack.mail!.dkim.selector;
  return Promise.all(c.stack.domains.map(async (d): Promise<CheckResult> => {
    const name = `${selector}._domainkey.${d}`;
    const id = `dns/dkim-pod/${d}`;
    if (!podKey) return skip("dns", id, `${name}: the key the pod signs with could not be read (see the pod checks)`);
    const resolver = resolverFor(name);
    if (!resolver) return skip("dns", id, `${name}: its zone could not be asked`);
    let published: (string | undefined)[];
    try {
      published = (await lookup(resolver, name, "TXT")).map(dkimP).filter(Boolean);
    } catch (err) {
      return skip("dns", id, `${name}: could not ask (${(err as Error).message})`);
    }
    if (published.includes(podKey)) return ok("dns", id, `${name}: the key the pod signs with is published`);
    const planned = c.records.find((r) => r.name === name && r.type === "TXT");
    const plannedKey = planned?.type === "TXT" ? dkimP(planned.value) : undefined;
    return problem("fail", "dns", id, published.length ? `${name} publishes another key than the one the pod signs with` : `${name} publishes no key`,
      "every DKIM signature of the pod fails: DMARC fails and its mail lands in spam or is refused",
      plannedKey === podKey ? `publish ${publishHow(c.stack, c.file)}: ${name}. IN TXT "v=DKIM1; k=rsa; p=${podKey}"` : `podkit apply ${c.file} (the pod signs with a key that is not the stack's), then publish the stack's record`);
  }));
}

async function mtaStsServed(c: DnsCheckInput): Promise<CheckResult[]> {
  const want = mtaStsPolicy(c.stack);
  return Promise.all(c.stack.domains.map(async (d): Promise<CheckResult> => {
    const name = `mta-sts.${d}`;
    const id = `dns/mta-sts-policy/${d}`;
    const address = c.records.find((r) => r.name === name && r.type === "A");
    if (!address || address.type !== "A") return skip("dns", id, `${name}: no address in the plan (the host's address is not known yet)`);
    const fix = `podkit apply ${c.file} (the web role serves the policy), then curl https://${name}/.well-known/mta-sts.txt`;
    try {
      const r = await httpsGet(address.value, name, "/.well-known/mta-sts.txt", c.env.ca, c.timeoutMs);
      if (r.status !== 200) return problem("fail", "dns", id, `https://${name}/.well-known/mta-sts.txt answers ${r.status}`, "senders that see the MTA-STS record but get no policy deliver without it, and report failures", fix);
      if (r.body.replace(/\r\n/g, "\n") !== want.replace(/\r\n/g, "\n")) {
        return problem("fail", "dns", id, `the MTA-STS policy served for ${d} is not the one whose id DNS publishes`, "senders cache a policy that does not match the pod: with the wrong mx line they refuse to deliver", fix);
      }
      return ok("dns", id, `https://${name}/.well-known/mta-sts.txt serves the policy whose id DNS publishes`);
    } catch (err) {
      return problem("fail", "dns", id, `https://${name}/.well-known/mta-sts.txt: ${(err as Error).message}`, "senders cannot fetch the MTA-STS policy the pod announces, so they cannot insist on TLS", fix);
    }
  }));
}

/** The name a CA looks for in CAA issue records, for the ACME directories of the CAs people use. */
export function caaIdentity(directory: string): string | undefined {
  const host = new URL(directory).hostname;
  const known: [RegExp, string][] = [
    [/(^|\.)letsencrypt\.org$/, "letsencrypt.org"], [/(^|\.)zerossl\.com$/, "sectigo.com"], [/(^|\.)buypass\.(com|no)$/, "buypass.com"],
    [/(^|\.)pki\.goog$/, "pki.goog"], [/(^|\.)ssl\.com$/, "ssl.com"],
  ];
  return known.find(([re]) => re.test(host))?.[1];
}

async function caaPermitsCa(c: DnsCheckInput, resolverFor: (name: string) => Resolver | undefined): Promise<CheckResult[]> {
  const identity = caaIdentity(c.stack.tls.acme.directory);
  return Promise.all(c.stack.domains.map(async (d): Promise<CheckResult> => {
    const id = `dns/caa-permits/${d}`;
    const resolver = resolverFor(d);
    if (!resolver) return skip("dns", id, `${d} CAA: its zone could not be asked`);
    let caa: string[];
    try {
      caa = await lookup(resolver, d, "CAA");
    } catch (err) {
      return skip("dns", id, `${d} CAA: could not ask (${(err as Error).message})`);
    }
    const issuers = caa.map((v) => v.match(/^\d+ issue (.*)$/)?.[1]).filter((v): v is string => v !== undefined).map((v) => v.split(";")[0].trim());
    if (!issuers.length) return ok("dns", id, `${d}: no CAA issue records, any CA may issue`);
    if (!identity) return skip("dns", id, `${d}: CAA names ${issuers.join(", ")}; which CAA name the ACME CA ${c.stack.tls.acme.directory} uses is not known to podkit`);
    if (issuers.includes(identity)) return ok("dns", id, `${d}: CAA lets ${identity} issue`);
    return problem("fail", "dns", id, `${d}: CAA lets only ${issuers.join(", ")} issue, not ${identity}, the CA in use`,
      "certificate renewals are refused: when the certificate expires, mail and chat clients refuse the pod", `publish ${publishHow(c.stack, c.file)}: ${d}. IN CAA 0 issue "${identity}" (and set tls.caa in the stack)`);
  }));
}
