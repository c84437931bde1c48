// The pod's DNS, as one pure function from the stack (plus the host addresses
// and the DKIM public key, which only exist once hosts and keys do) to every
// record. Zone files and Cloudflare records are both rendered from this.
import { createHash } from "node:crypto";
import {
  dmarcReports, hostFqdn, primaryDomain, serviceNames, tlsReports, zoneOf,
} from "../stack/derive";
import type { Stack } from "../stack/schema";
import type { DnsRecord, UnplacedRecord } from "./records";

export interface HostAddresses {
  ipv4?: string;
  ipv6?: string;
}

export interface DnsFacts {
  /** Public addresses by host name. */
  addresses: Record<string, HostAddresses>;
  /** DKIM public key: base64 of the DER SubjectPublicKeyInfo (what goes after p=). */
  dkimPublicKey?: string;
}

export const XMPP_PORTS = { client: 5222, clientTls: 5223, server: 5269, serverTls: 5270 } as const;

export function planDns(stack: Stack, facts: DnsFacts): DnsRecord[] {
  const records: DnsRecord[] = [];
  const ttl = stack.dns.ttl;
  const add = (r: UnplacedRecord) => {
    const zone = zoneOf(stack, r.name);
    if (!zone) throw new Error(`${r.name} is in none of the pod's DNS zones`);
    records.push({ ...r, zone, ttl } as DnsRecord);
  };

  for (const host of Object.keys(stack.hosts)) addressRecords(stack, host, facts.addresses[host] ?? {}, add);
  if (stack.mail) mailRecords(stack, facts, add);
  if (stack.chat) chatRecords(stack, add);
  caaRecords(stack, add);
  return records;
}

type Add = (r: UnplacedRecord) => void;

function addressRecords(stack: Stack, host: string, addr: HostAddresses, add: Add): void {
  for (const name of serviceNames(stack, host)) {
    const why = name === hostFqdn(stack, host) ? `host ${host}`
      : stack.domains.includes(name) ? `the XMPP domain: its certificate is validated at this address`
      : `${name.split(".")[0]} service on host ${host}`;
    if (addr.ipv4) add({ id: `a/${name}`, name, type: "A", value: addr.ipv4, why });
    if (addr.ipv6) add({ id: `aaaa/${name}`, name, type: "AAAA", value: addr.ipv6, why });
  }
}

function mailRecords(stack: Stack, facts: DnsFacts, add: Add): void {
  const mail = stack.mail!;
  const mx = hostFqdn(stack, mail.host);
  const relaySpf = mail.relay ? ` ${mail.relay.spf ?? `a:${mail.relay.host}`}` : "";
  const rua = dmarcReports(stack);
  const ruaDomain = rua.slice(rua.indexOf("@") + 1);

  // The MX's own name gets SPF too: receivers check the HELO name (RFC 7208 2.3).
  add({ id: `txt/${mx}`, name: mx, type: "TXT", value: `v=spf1 a${relaySpf} -all`, why: "SPF for the MX's HELO name" });

  for (const d of stack.domains) {
    add({ id: `mx/${d}`, name: d, type: "MX", priority: 10, value: mx, why: "mail for the domain goes to the pod" });
    add({ id: `txt/${d}`, name: d, type: "TXT", value: `v=spf1 mx${relaySpf} -all`, why: "SPF: only the pod (and its relay) send for the domain" });
    if (facts.dkimPublicKey) {
      const name = `${mail.dkim.selector}._domainkey.${d}`;
      add({ id: `txt/${name}`, name, type: "TXT", value: `v=DKIM1; k=rsa; p=${facts.dkimPublicKey}`, why: "DKIM public key (selector " + mail.dkim.selector + ")" });
    }
    add({
      id: `txt/_dmarc.${d}`, name: `_dmarc.${d}`, type: "TXT",
      value: `v=DMARC1; p=${mail.dmarc.policy}; rua=mailto:${rua}; adkim=s; aspf=r`,
      why: `DMARC policy; aggregate reports to ${rua}`,
    });
    if (ruaDomain !== d && !d.endsWith(`.${ruaDomain}`)) {
      // RFC 7489 7.1: a report address on another domain must say it accepts them.
      const name = `${d}._report._dmarc.${ruaDomain}`;
      add({ id: `txt/${name}`, name, type: "TXT", value: "v=DMARC1", why: `${ruaDomain} accepts DMARC reports for ${d}` });
    }
    add({ id: `txt/_mta-sts.${d}`, name: `_mta-sts.${d}`, type: "TXT", value: `v=STSv1; id=${mtaStsId(stack)}`, why: "MTA-STS: the id changes whenever the policy does" });
    add({ id: `txt/_smtp._tls.${d}`, name: `_smtp._tls.${d}`, type: "TXT", value: `v=TLSRPTv1; rua=mailto:${tlsReports(stack)}`, why: "TLS-RPT: where senders report TLS failures" });
    // RFC 6186 / RFC 8314: mail clients find their servers; "." says a service is not offered.
    const srv = (service: string, port: number, why: string) => add({
      id: `srv/_${service}._tcp.${d}`, name: `_${service}._tcp.${d}`, type: "SRV",
      priority: 0, weight: port ? 1 : 0, port, target: port ? mx : ".", why,
    });
    srv("submissions", 465, "mail clients send over implicit TLS");
    srv("submission", 587, "mail clients send with STARTTLS");
    srv("imaps", 993, "mail clients read over IMAPS");
    srv("imap", 0, "no plain IMAP");
    srv("pop3", 0, "no POP3");
    srv("pop3s", 0, "no POP3S");
  }
}

/** The MTA-STS policy served at https://mta-sts.<domain>/.well-known/mta-sts.txt. */
export function mtaStsPolicy(stack: Stack): string {
  const mail = stack.mail!;
  return [
    "version: STSv1",
    `mode: ${mail.mtaSts.mode}`,
    `mx: ${hostFqdn(stack, mail.host)}`,
    `max_age: ${mail.mtaSts.maxAgeDays * 86400}`,
    "",
  ].join("\r\n");
}

export function mtaStsId(stack: Stack): string {
  return createHash("sha256").update(mtaStsPolicy(stack)).digest("hex").slice(0, 20);
}

function chatRecords(stack: Stack, add: Add): void {
  const target = hostFqdn(stack, stack.chat!.host);
  for (const d of stack.domains) {
    const srv = (label: string, owner: string, port: number, why: string) => add({
      id: `srv/${label}.${owner}`, name: `${label}.${owner}`, type: "SRV", priority: 0, weight: 5, port, target, why,
    });
    srv("_xmpp-client._tcp", d, XMPP_PORTS.client, "XMPP clients (STARTTLS)");
    srv("_xmpps-client._tcp", d, XMPP_PORTS.clientTls, "XMPP clients (direct TLS, XEP-0368)");
    srv("_xmpp-server._tcp", d, XMPP_PORTS.server, "XMPP federation");
    srv("_xmpps-server._tcp", d, XMPP_PORTS.serverTls, "XMPP federation (direct TLS, XEP-0368)");
    srv("_xmpp-server._tcp", `conference.${d}`, XMPP_PORTS.server, "group chats reachable from other servers");
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
