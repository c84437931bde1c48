// The pod's DNS, as one pure function from the stack (plus the host addresses
// and the DKIM public key, which only exist once hosts and keys do) to every
// record. Zone files and Cloudflare are both rendered from this. The records a
// service needs are declared by its role (roles/<name>/role.ts, `records`);
// here are only what every pod has: the hosts' addresses for every name they
// serve, and CAA. A host behind an edge (`hosts.box.edge: gw`) has no public
// address of its own: its names get the edge's (./public-addresses.ts).
import { registeredRoles } from "../converge/registry";
import { primaryDomain, serviceNames, zoneOf } from "../stack/derive";
import type { Stack } from "../stack/schema";
import { publicAddresses } from "./public-addresses";
import { rdata, type DnsRecord, type UnplacedRecord } from "./records";

export interface HostAddresses {
  ipv4?: string;
  ipv6?: string;
}

export interface DnsFacts {
  /**
   * Addresses by host name, as each host's kind knows them. For a host behind
   * an edge that is its LAN address, which never goes into DNS.
   */
  addresses: Record<string, HostAddresses>;
  /** DKIM public key: base64 of the DER SubjectPublicKeyInfo (what goes after p=). */
  dkimPublicKey?: string;
}

export function planDns(stack: Stack, facts: DnsFacts): DnsRecord[] {
  const records: DnsRecord[] = [];
  const byId = new Map<string, DnsRecord>();
  const ttl = stack.dns.ttl;
  const add = (r: UnplacedRecord) => {
    const zone = zoneOf(stack, r.name);
    if (!zone) throw new Error(`${r.name} is in none of the pod's DNS zones`);
    const record = { ...r, zone, ttl } as DnsRecord;
    // An edge and the box behind it may both declare a name (the MX name: the edge is the MX
    // front, the box the mail host): the same record twice is one record. The same id with
    // other data would be two answers where the pod means one.
    const seen = byId.get(record.id);
    if (seen) {
      if (seen.type === record.type && rdata(seen) === rdata(record)) return;
      throw new Error(`two records with the id ${record.id}: ${seen.type} ${rdata(seen)} (${seen.why}) and ${record.type} ${rdata(record)} (${record.why})`);
    }
    byId.set(record.id, record);
    records.push(record);
  };

  const hosts = Object.keys(stack.hosts);
  const addresses = publicAddresses(stack, facts.addresses);
  for (const host of hosts) addressRecords(stack, host, addresses[host] ?? {}, add);
  for (const role of registeredRoles()) {
    for (const host of hosts.filter((h) => role.appliesTo(stack, h))) role.records?.(stack, host, facts).forEach(add);
  }
  caaRecords(stack, add);
  return records;
}

type Add = (r: UnplacedRecord) => void;

function addressRecords(stack: Stack, host: string, addr: HostAddresses, add: Add): void {
  for (const { name, why } of serviceNames(stack, host)) {
    if (addr.ipv4) add({ id: `a/${name}`, name, type: "A", value: addr.ipv4, why });
    if (addr.ipv6) add({ id: `aaaa/${name}`, name, type: "AAAA", value: addr.ipv6, why });
  }
}

function caaRecords(stack: Stack, add: Add): void {
  if (stack.tls.caa.length === 0) return;
  for (const d of stack.domains) {
    for (const ca of stack.tls.caa) {
      add({ id: `caa/${d}/issue/${ca}`, name: d, type: "CAA", flags: 0, tag: "issue", value: ca, why: `only ${ca} may issue certificates` });
    }
    add({ id: `caa/${d}/issuewild`, name: d, type: "CAA", flags: 0, tag: "issuewild", value: ";", why: "the pod uses no wildcard certificates" });
    add({ id: `caa/${d}/iodef`, name: d, type: "CAA", flags: 0, tag: "iodef", value: `mailto:${`postmaster@${primaryDomain(stack)}`}`, why: "where CAs report refused requests" });
  }
}
