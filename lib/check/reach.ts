// Reachability from outside, as clients and other servers reach the pod: each
// port of the issue's list that a role on the host opens, spoken to in its own
// protocol up to TLS, and the certificate judged for the names those clients
// ask for. The SMTP greeting on port 25 is also the pod's identity to other
// servers (group identity).
import { registeredRoles } from "../converge/registry";
import { rolePorts } from "../converge/role";
import { hostFqdn } from "../stack/derive";
import type { Stack } from "../stack/schema";
import { type CheckResult, type Group, ok, problem } from "./result";
import { nameError, probe, type ProbeMode, type ProbeResult } from "./tls-probe";

/** How each service podkit checks is spoken to, which names its clients ask for, and what its loss means. */
const SERVICES: Record<string, { mode: ProbeMode; names: (stack: Stack, host: string, roleNames: string[]) => string[]; down: string; badCert: string }> = {
  smtp: { mode: "smtp", names: (s, h) => [hostFqdn(s, h)], down: "other servers cannot deliver mail to the pod", badCert: "senders that check certificates (MTA-STS, DANE) refuse to deliver to the pod" },
  submissions: { mode: "tls", names: (s, h) => [hostFqdn(s, h)], down: "members' mail apps cannot send over port 465", badCert: "members' mail apps refuse to send" },
  submission: { mode: "smtp", names: (s, h) => [hostFqdn(s, h)], down: "members' mail apps cannot send over port 587", badCert: "members' mail apps refuse to send" },
  imaps: { mode: "tls", names: (s, h) => [hostFqdn(s, h)], down: "members' mail apps cannot read mail", badCert: "members' mail apps refuse to connect" },
  "xmpp-client": { mode: "xmpp-client", names: (s) => s.domains, down: "chat apps cannot connect", badCert: "chat apps refuse to connect" },
  "xmpp-server": { mode: "xmpp-server", names: (s) => s.domains, down: "other chat servers cannot reach the pod: federation fails", badCert: "other chat servers refuse the pod's federation connections" },
  https: { mode: "tls", names: (_s, _h, roleNames) => roleNames, down: "the MTA-STS policy and mail app autoconfig are not served", badCert: "senders cannot fetch the MTA-STS policy" },
};

export interface ReachInput {
  stack: Stack;
  file: string;
  hosts: string[];
  addresses: Record<string, { ipv4?: string; ipv6?: string }>;
  ca?: string;
  /** A certificate that ends sooner than this fails; twice as long (at least 30 days, when certbot renews) warns. */
  certDays: number;
  timeoutMs: number;
  /** Port 25 answers only after postscreen's greet wait (6 s). */
  smtpTimeoutMs: number;
  onDone?: () => void;
}

interface Job {
  host: string;
  address: string;
  port: number;
  service: string;
  names: string[];
  /** Asked once per name (XMPP, HTTPS choose the certificate by name). */
  perName: boolean;
}

export function reachJobs(input: Pick<ReachInput, "stack" | "hosts" | "addresses">): Job[] {
  const jobs: Job[] = [];
  for (const host of input.hosts) {
    const addr = input.addresses[host] ?? {};
    for (const role of registeredRoles().filter((r) => r.appliesTo(input.stack, host))) {
      const roleNames = (role.names?.(input.stack, host) ?? []).map((n) => n.name);
      for (const p of rolePorts(role, input.stack, host)) {
        const how = SERVICES[p.service];
        if (!how || p.protocol !== "tcp" || p.port === undefined) continue;
        for (const address of [addr.ipv4, addr.ipv6].filter((a): a is string => !!a)) {
          // XMPP and HTTPS choose the certificate by name: ask once per name. Mail ports have one.
          const perName = how.mode.startsWith("xmpp") || p.service === "https";
          const names = how.names(input.stack, host, roleNames);
          if (perName) for (const n of names) jobs.push({ host, address, port: p.port, service: p.service, names: [n], perName });
          else jobs.push({ host, address, port: p.port, service: p.service, names, perName });
        }
      }
    }
  }
  return jobs;
}

export async function reachChecks(input: ReachInput): Promise<CheckResult[]> {
  const jobs = reachJobs(input);
  const results = await Promise.all(jobs.map(async (job) => {
    const how = SERVICES[job.service];
    const what = `${job.address} port ${job.port} (${job.service}${job.perName ? ` ${job.names[0]}` : ""})`;
    const id = `reach/${job.host}/${job.address}/${job.port}${job.perName ? `/${job.names[0]}` : ""}`;
    let r: ProbeResult;
    try {
      r = await probe({ address: job.address, port: job.port, mode: how.mode, servername: job.names[0], ca: input.ca, timeoutMs: job.port === 25 ? input.smtpTimeoutMs : input.timeoutMs });
    } catch (err) {
      input.onDone?.();
      return [problem("fail", "reachability", id, `${what}: ${(err as Error).message.replace(/^[^ ]+: /, "")}`, how.down,
        `on the host: systemctl status of the daemon behind port ${job.port}; outside: the provider's firewall must let port ${job.port} in (podkit apply ${input.file} --host ${job.host} restarts what is down)`, job.host)];
    }
    input.onDone?.();
    const out = [judgeCert(what, id, job, r, input, how.badCert)];
    if (job.port === 25) out.push(bannerCheck(input.stack, job, r, input.file));
    return out;
  }));
  return results.flat();
}

export function daysLeft(validTo: Date, now = Date.now()): number {
  return Math.floor((validTo.getTime() - now) / 86_400_000);
}

/** The certificate as the service's clients judge it, and whether it ends too soon. */
export function judgeCert(what: string, id: string, job: Pick<Job, "host" | "names">, r: Pick<ProbeResult, "cert">, input: Pick<ReachInput, "certDays" | "file">, badCert: string, now = Date.now()): CheckResult {
  const group: Group = "reachability";
  const renew = `certbot renew -v on ${job.host} (journalctl -u certbot says why renewal failed); podkit apply ${input.file} --host ${job.host} requests a missing name`;
  if (!r.cert.trusted) return problem("fail", group, id, `${what}: the certificate does not verify (${r.cert.chainError ?? "untrusted"})`, badCert, renew, job.host);
  const wrong = job.names.map((n) => [n, nameError(r.cert.raw, n)] as const).filter(([, e]) => e);
  if (wrong.length) return problem("fail", group, id, `${what}: the certificate is not valid for ${wrong.map(([n]) => n).join(", ")} (it has ${r.cert.altNames || "no names"})`, badCert, renew, job.host);
  const days = daysLeft(r.cert.validTo, now);
  const until = `${r.cert.validTo.toISOString().slice(0, 10)} (${days} days)`;
  if (days < input.certDays) return problem("fail", group, id, `${what}: the certificate expires ${until}`, `within ${input.certDays} days of its end it is not being renewed; when it ends, ${badCert}`, renew, job.host);
  if (days < Math.max(30, input.certDays * 2)) return problem("warn", group, id, `${what}: the certificate expires ${until}`, "certbot renews 30 days before the end: this one is not being renewed", renew, job.host);
  return ok(group, id, `${what}: TLS, certificate for ${job.names.join(", ")} valid until ${until}`, job.host);
}

/** Receivers compare the greeting (and HELO) name with the address's reverse name: it must be the MX's name. */
export function bannerCheck(stack: Stack, job: Pick<Job, "host" | "address">, r: Pick<ProbeResult, "banner">, file: string): CheckResult {
  const want = hostFqdn(stack, job.host);
  const said = r.banner?.match(/^220[ -](\S+)/)?.[1]?.toLowerCase();
  const id = `identity/banner/${job.host}/${job.address}`;
  if (said === want) return ok("identity", id, `${job.address}: SMTP greeting names ${want}`, job.host);
  return problem("fail", "identity", id, `${job.address}: the SMTP greeting names ${said ?? "nothing"} (${r.banner ?? "no greeting"}), not ${want}`,
    "receivers distrust a server whose greeting and HELO name do not match its reverse DNS: mail lands in spam", `podkit apply ${file} --host ${job.host} (Postfix's myhostname comes from the stack)`, job.host);
}
