// Asking DNS the way the check needs it: the pod's zones at their own
// authoritative servers (not a resolver's cache, which may hide a change for
// a TTL), and everything else (reverse names, blocklists) through a resolver.
// Node's own c-ares resolver, pointed at given servers: no DNS library is
// among podkit's dependencies, and c-ares answers every type the plan has.
import { Resolver } from "node:dns/promises";
import { isIP } from "node:net";
import { rrKey, type Observed } from "./dns-compare";

/** Short: a whole `podkit check` takes seconds. c-ares retries once. */
const DNS_TIMEOUT_MS = 2000;

export function resolverAt(servers?: string[]): Resolver {
  const r = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: 2 });
  if (servers?.length) r.setServers(servers);
  return r;
}

/** "No such name" and "no such record" are answers (nothing published), not failures to ask. */
const NOTHING = new Set(["ENODATA", "ENOTFOUND", "NXDOMAIN"]);

async function answers<T>(q: () => Promise<T[]>): Promise<T[]> {
  try {
    return await q();
  } catch (err) {
    if (NOTHING.has((err as NodeJS.ErrnoException).code ?? "")) return [];
    throw err;
  }
}

const abs = (name: string) => (name === "" || name === "." ? "." : `${name.toLowerCase().replace(/\.$/, "")}.`);

/** The records of one name and type in the form ./dns-compare.ts compares (zone-file presentation). */
export async function lookup(r: Resolver, name: string, type: string): Promise<string[]> {
  switch (type) {
    case "A": return answers(() => r.resolve4(name));
    case "AAAA": return (await answers(() => r.resolve6(name))).map((a) => a.toLowerCase());
    case "NS": return (await answers(() => r.resolveNs(name))).map(abs);
    case "MX": return (await answers(() => r.resolveMx(name))).map((m) => `${m.priority} ${abs(m.exchange)}`);
    case "TXT": return (await answers(() => r.resolveTxt(name))).map((chunks) => chunks.join(""));
    case "SRV": return (await answers(() => r.resolveSrv(name))).map((s) => `${s.priority} ${s.weight} ${s.port} ${abs(s.name)}`);
    case "CAA": return (await answers(() => r.resolveCaa(name))).flatMap((c) => {
      const tag = (["issue", "issuewild", "iodef"] as const).find((t) => c[t] !== undefined);
      return tag ? [`${c.critical} ${tag} ${c[tag]}`] : [];
    });
    default: throw new Error(`no lookup for ${type}`);
  }
}

/** Every name and type in `wanted` ("name|TYPE" keys), asked in parallel. */
export async function observe(r: Resolver, wanted: string[]): Promise<Observed> {
  const out: Observed = new Map();
  await Promise.all([...new Set(wanted)].map(async (key) => {
    const [name, type] = key.split("|");
    try {
      out.set(rrKey(name, type), await lookup(r, name, type));
    } catch (err) {
      out.set(rrKey(name, type), err as Error);
    }
  }));
  return out;
}

/**
 * The addresses of a zone's authoritative servers: its NS records, asked of
 * `recursive` (the machine's resolver, or the lab's), and their addresses.
 */
export async function authoritativeServers(recursive: Resolver, zone: string): Promise<{ names: string[]; addresses: string[] }> {
  const names = await answers(() => recursive.resolveNs(zone));
  if (!names.length) throw new Error(`${zone} has no NS records`);
  const addresses = (await Promise.all(names.map(async (n) => [
    ...(await answers(() => recursive.resolve4(n)).catch(() => [] as string[])),
    ...(await answers(() => recursive.resolve6(n)).catch(() => [] as string[])),
  ]))).flat();
  if (!addresses.length) throw new Error(`the name servers of ${zone} (${names.join(", ")}) have no addresses`);
  return { names, addresses: addresses.map((a) => (isIP(a) === 6 ? `[${a}]` : a)) };
}
