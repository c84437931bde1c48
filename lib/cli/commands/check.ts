// `podkit check <stack>`: is the pod healthy, and will its mail be delivered?
// DNS as published against the plan, identity, reachability and certificates,
// blocklists, and each host's own state over the pinned SSH session (the same
// script its daily timer runs). Exit 0 all ok, 1 any fail (or warn with --strict).
import { buildReport, formatReport } from "../../check/report";
import { runChecks } from "../../check/run";
import { GROUPS, type Group } from "../../check/result";
import { loadPod } from "../../stack/pod";
import { parse } from "../args";
import { EXIT, UsageError } from "../exit";
import { hostProviders } from "../hosts";
import { withStackErrors } from "../report";
import { Terminal } from "../terminal";

const HELP = `usage: podkit check <stack.yaml> [--json] [--host H] [--strict] [--secrets FILE] [-i KEY]
                    [--cert-days N] [--disk-full-at PCT] [--smtp-probe HOST]...

Checks the live pod against its stack, one line per check, grouped:
  dns           every record of the plan at the zone's own name servers (missing,
                extra, different), the DKIM key the pod signs with, the MTA-STS
                policy served, CAA
  identity      reverse DNS of every address (forward-confirmed), the SMTP greeting
  reachability  ports 25 465 587 993 5222 5269 443 and their certificates
  reputation    the pod's address on mail.dnsbl's blocklists
  pod           over SSH: services, mail queue, disk, backups, updates, reboot,
                certificate renewal, clock, outgoing port 25 (the daily timer's checks)
Every warn and fail says what it means and the fix.
  --json             the results as JSON (docs/check.md)
  --host H           only host H of the stack
  --strict           a warn fails too (exit 1)
  --cert-days N      a certificate ending within N days fails (default 14; under 30 warns)
  --disk-full-at PCT disk or inode use at PCT percent fails (default: the pod's 95)
  --smtp-probe HOST  a mail server the pod tries port 25 on (outgoing SMTP open?);
                     default: none (the lab's own pods in the lab), or the relay
  -i, --identity     SSH private key for existing hosts (default: the SSH agent)
Exit: 0 all ok, 1 a check failed (or warned, with --strict), 64 usage, 65 invalid stack.`;

const OPTIONS = {
  json: { type: "boolean" }, host: { type: "string" }, strict: { type: "boolean" }, secrets: { type: "string" },
  identity: { type: "string", short: "i" }, "cert-days": { type: "string" }, "disk-full-at": { type: "string" },
  "smtp-probe": { type: "string", multiple: true },
} as const;

function wholeNumber(value: string | undefined, option: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${option} takes a whole number from ${min} to ${max}\n\n${HELP}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv, OPTIONS, HELP);
  if (!args) return EXIT.OK;
  if (args.positionals.length !== 1) throw new UsageError(`name one stack file\n\n${HELP}`);
  const { values } = args;
  const certDays = wholeNumber(values["cert-days"], "--cert-days", 0, 36500) ?? 14;
  const diskFailPercent = wholeNumber(values["disk-full-at"], "--disk-full-at", 1, 100);
  for (const h of values["smtp-probe"] ?? []) if (!/^[A-Za-z0-9.:-]+$/.test(h)) throw new UsageError(`--smtp-probe takes a host name or address, not ${JSON.stringify(h)}`);
  const file = args.positionals[0];
  return withStackErrors(async () => {
    const pod = loadPod(file, { providers: hostProviders(), secretsFile: values.secrets });
    const all = Object.keys(pod.stack.hosts);
    if (values.host && !all.includes(values.host)) throw new UsageError(`--host ${values.host}: the stack's hosts are ${all.join(", ")}`);
    const hosts = values.host ? [values.host] : all;
    const term = new Terminal(values.json ? process.stderr : process.stdout);
    const running = new Map<Group, string>();
    const startedAt = new Date();
    const results = await runChecks(pod, {
      file, hosts, identity: values.identity, certDays, diskFailPercent, smtpProbe: values["smtp-probe"],
      onProgress: (g, text) => {
        if (text === undefined) running.delete(g);
        else running.set(g, text);
        const now = GROUPS.filter((x) => running.has(x)).map((x) => (running.get(x) === "running" ? x : `${x} ${running.get(x)}`));
        term.setStatus("check", now.length ? `${pod.stack.pod}: checking ${now.join(", ")} (${((Date.now() - startedAt.getTime()) / 1000).toFixed(1)}s)` : undefined);
      },
    }).finally(() => term.finish());
    const report = buildReport({ pod: pod.stack.pod, stack: file, hosts, startedAt, seconds: (Date.now() - startedAt.getTime()) / 1000, results, strict: !!values.strict });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else for (const line of formatReport(report, { paint: (t, how) => term.paint(t, how), hostNames: all.length > 1 })) term.line(line);
    return report.exitCode;
  });
}
