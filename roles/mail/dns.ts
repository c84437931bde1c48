// The records mail for the pod's domains needs: MX, SPF, DKIM, DMARC, MTA-STS,
// TLS-RPT, and the SRV records mail clients find their servers with.
import type { DnsFacts } from "../../lib/dns/plan";
import type { UnplacedRecord } from "../../lib/dns/records";
import { hostFqdn, postmaster } from "../../lib/stack/derive";
import type { Stack } from "../../lib/stack/schema";
import { mtaStsId } from "./mta-sts";
import { MAIL_PORTS } from "./ports";

/** Where DMARC aggregate reports go: mail.dmarc.reports, or the postmaster. */
const dmarcReports = (stack: Stack): string => stack.mail?.dmarc.reports ?? postmaster(stack);
/** Where TLS-RPT reports go: mail.tlsReports, or where DMARC reports go. */
const tlsReports = (stack: Stack): string => stack.mail?.tlsReports ?? dmarcReports(stack);

export function mailRecords(stack: Stack, facts: DnsFacts): UnplacedRecord[] {
  const records: UnplacedRecord[] = [];
  const add = (r: UnplacedRecord) => records.push(r);
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
    srv("submissions", MAIL_PORTS.submissions, "mail clients send over implicit TLS");
    srv("submission", MAIL_PORTS.submission, "mail clients send with STARTTLS");
    srv("imaps", MAIL_PORTS.imaps, "mail clients read over IMAPS");
    srv("imap", 0, "no plain IMAP");
    srv("pop3", 0, "no POP3");
    srv("pop3s", 0, "no POP3S");
  }
  return records;
}
