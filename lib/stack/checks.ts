// Rules between fields, which a per-field schema cannot say: a referenced host
// exists, an address is claimed once, a domain is in a DNS zone. They read the
// raw file defensively, so they run (and report) even when the schema found
// problems elsewhere: a volunteer sees every problem in one go.
import { zonesFor } from "./derive";
import { closest } from "./issues";
import type { Path } from "./problems";

export interface CrossProblem {
  path: Path;
  message: string;
  at?: "key" | "value";
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

const PROVIDERS = ["hcloud", "existing", "lab"] as const;

export function crossChecks(raw: unknown): CrossProblem[] {
  const stack = obj(raw);
  const out: CrossProblem[] = [];
  const domains = list(stack.domains).filter((d): d is string => typeof d === "string");
  checkDomains(domains, out);
  checkHosts(stack, domains, out);
  checkServiceHosts(stack, out);
  checkEdges(stack, out);
  checkMemberAccounts(stack, out);
  checkDns(obj(stack.dns), domains, out);
  const owners = checkAddresses(stack, domains, out);
  checkReportAddresses(stack, domains, owners, out);
  checkGroups(stack, out);
  checkBackup(obj(stack.backup), out);
  return out;
}

function checkDomains(domains: string[], out: CrossProblem[]): void {
  domains.forEach((d, i) => {
    const first = domains.indexOf(d);
    if (first !== i) out.push({ path: ["domains", i], message: `"${d}" is listed twice (first as domains[${first}])` });
  });
}

function checkHosts(stack: Obj, domains: string[], out: CrossProblem[]): void {
  const addressOwner = new Map<string, string>();
  const fqdnOwner = new Map<string, string>();
  for (const [name, h] of Object.entries(obj(stack.hosts))) {
    const host = obj(h);
    const kinds = PROVIDERS.filter((k) => host[k] !== undefined);
    if (kinds.length === 0) {
      out.push({ path: ["hosts", name], message: "a host needs exactly one of hcloud, existing or lab; it has none" });
    } else if (kinds.length > 1) {
      out.push({ path: ["hosts", name, kinds[1]], at: "key", message: `a host needs exactly one of hcloud, existing or lab; it has ${kinds.join(" and ")}` });
    }
    const existing = host.existing === undefined ? undefined : obj(host.existing);
    if (existing && existing.hostKey === undefined && typeof existing.address === "string") {
      out.push({
        path: ["hosts", name, "existing"], at: "key",
        message: `no pinned host key: podkit never trusts a host key on first use. On the host's console run ` +
          `\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\` and set hosts.${name}.existing.hostKey to the SHA256:... it prints ` +
          `(or paste the .pub line)`,
      });
    }
    const claims: [Path, string | undefined][] = [
      [["hosts", name, "existing", "address"], str(existing?.address)],
      [["hosts", name, "existing", "address6"], str(existing?.address6)],
      [["hosts", name, "lab", "name"], host.lab !== undefined ? `lab:${str(obj(host.lab).name)}` : undefined],
    ];
    for (const [path, addr] of claims) {
      if (!addr) continue;
      const other = addressOwner.get(addr);
      if (other) out.push({ path, message: `${addr.replace(/^lab:/, "lab host ")} is already the address of host "${other}"` });
      else addressOwner.set(addr, name);
    }
    const fqdn = str(host.fqdn) ?? (domains[0] ? `${name}.${domains[0]}` : undefined);
    if (fqdn) {
      const other = fqdnOwner.get(fqdn);
      if (other) out.push({ path: ["hosts", name, "fqdn"], message: `"${fqdn}" is already the name of host "${other}"` });
      else fqdnOwner.set(fqdn, name);
    }
  }
}

function checkServiceHosts(stack: Obj, out: CrossProblem[]): void {
  if (stack.chat !== undefined && stack.mail === undefined) {
    out.push({ path: ["chat"], at: "key", message: "chat needs mail: chat accounts are the mail accounts, with the same passwords; add a mail section" });
  }
  const hosts = Object.keys(obj(stack.hosts));
  for (const service of ["mail", "chat", "backup"]) {
    const ref = str(obj(stack[service]).host);
    if (ref === undefined || hosts.includes(ref)) continue;
    const guess = closest(ref, hosts);
    out.push({
      path: [service, "host"],
      message: `host "${ref}" is not defined in hosts${guess ? `; did you mean "${guess}"?` : hosts.length ? ` (hosts: ${hosts.join(", ")})` : ""}`,
    });
  }
}

/**
 * `hosts.<box>.edge` names another host of the pod, which is a public face and
 * nothing else: an edge runs no mail, chat or backup of its own (its Postfix is
 * the box's front and backup MX, one Postfix per host) and sits behind no edge
 * itself (one hop: the box's replies route back through exactly one tunnel).
 */
function checkEdges(stack: Obj, out: CrossProblem[]): void {
  const hosts = obj(stack.hosts);
  const names = Object.keys(hosts);
  const edgeOf = (h: string) => str(obj(hosts[h]).edge);
  const edges = new Set<string>();
  for (const box of names) {
    const edge = edgeOf(box);
    if (edge === undefined) continue;
    if (edge === box) { out.push({ path: ["hosts", box, "edge"], message: "a host cannot be its own edge: name another host of the pod, the public server the box dials out to" }); continue; }
    if (!names.includes(edge)) {
      const guess = closest(edge, names);
      out.push({ path: ["hosts", box, "edge"], message: `host "${edge}" is not defined in hosts${guess ? `; did you mean "${guess}"?` : ` (hosts: ${names.join(", ")})`}` });
      continue;
    }
    if (edgeOf(edge) !== undefined) out.push({ path: ["hosts", box, "edge"], message: `host "${edge}" is itself behind edge "${edgeOf(edge)}": an edge must be reachable from the Internet on its own (one hop only)` });
    edges.add(edge);
  }
  for (const service of ["mail", "chat", "backup"]) {
    const ref = str(obj(stack[service]).host);
    if (ref && edges.has(ref)) {
      const boxes = names.filter((b) => edgeOf(b) === ref);
      out.push({ path: [service, "host"], message: `host "${ref}" is the edge of ${boxes.join(", ")}: an edge forwards to its box and runs no ${service} of its own; set ${service}.host to "${boxes[0]}"` });
    }
  }
  const members = names.filter((h) => edges.has(h) || edgeOf(h) !== undefined).length;
  const tunnel = str(obj(stack.edge).tunnel) ?? "10.201.0.0/29";
  const bits = Number(tunnel.split("/")[1]);
  if (members && Number.isInteger(bits) && bits >= 16 && bits <= 30 && 2 ** (32 - bits) - 2 < members) {
    out.push({ path: ["edge", "tunnel"], message: `${tunnel} has room for ${2 ** (32 - bits) - 2} hosts and the pod has ${members} on tunnels: use a larger network` });
  }
}

/**
 * An account with no password in the stack is its member's: the member's one
 * credential lives on the mail host (/var/lib/podkit/members), where Dovecot
 * and Prosody must both read it, so chat has to run on that host too.
 */
function checkMemberAccounts(stack: Obj, out: CrossProblem[]): void {
  const chatHost = str(obj(stack.chat).host);
  const mailHost = str(obj(stack.mail).host);
  if (stack.chat === undefined || !chatHost || !mailHost || chatHost === mailHost) return;
  const members = Object.entries(obj(stack.accounts)).filter(([addr, a]) => addr.includes("@") && obj(a).password === undefined).map(([addr]) => addr);
  if (!members.length) return;
  const named = members.length > 3 ? `${members.slice(0, 3).join(", ")} and ${members.length - 3} more` : members.join(", ");
  out.push({
    path: ["chat", "host"],
    message: `${named} ${members.length === 1 ? "has" : "have"} no password in the stack (the member sets it with \`podkit invite\`), ` +
      `and a member's one password for mail and chat is kept on the mail host, where Dovecot and Prosody both read it: ` +
      `set chat.host to "${mailHost}" (mail.host), or give ${members.length === 1 ? "that account" : "those accounts"} a password: { secret: ... }`,
  });
}

function checkDns(dns: Obj, domains: string[], out: CrossProblem[]): void {
  const kinds = ["cloudflare", "zonefile"].filter((k) => dns[k] !== undefined);
  if (kinds.length === 0) out.push({ path: ["dns"], at: "key", message: "choose where records live: dns.cloudflare or dns.zonefile" });
  if (kinds.length > 1) out.push({ path: ["dns", "zonefile"], at: "key", message: "dns.cloudflare and dns.zonefile are exclusive: keep one" });
  const zones = list(dns.zones).filter((z): z is string => typeof z === "string");
  if (zones.length) {
    domains.forEach((d, i) => {
      if (!zones.some((z) => d === z || d.endsWith(`.${z}`))) {
        out.push({ path: ["domains", i], message: `"${d}" is not in any of dns.zones (${zones.join(", ")}): its records would have nowhere to go` });
      }
    });
  }
  const allZones = zonesFor(domains, zones);
  for (const z of Object.keys(obj(obj(dns.cloudflare).zoneIds))) {
    if (!allZones.includes(z)) out.push({ path: ["dns", "cloudflare", "zoneIds", z], at: "key", message: `"${z}" is not one of the pod's zones (${allZones.join(", ")})` });
  }
}

/** Every address the pod receives mail for, mapped to where it is declared. */
type Owners = Map<string, Path>;

function checkAddresses(stack: Obj, domains: string[], out: CrossProblem[]): Owners {
  const owners: Owners = new Map();
  const claim = (addr: string, path: Path) => {
    // An account is its key in the file; an alias is a list item.
    const at = path.length === 2 ? "key" : "value";
    const first = owners.get(addr);
    if (first) {
      out.push({ path, at, message: `${addr} is already claimed by ${describeOwner(first)}` });
      return;
    }
    owners.set(addr, path);
    const domain = addr.slice(addr.lastIndexOf("@") + 1);
    if (domains.length && !domains.includes(domain)) {
      out.push({ path, at, message: `${addr} is not on one of the pod's domains (${domains.join(", ")})` });
    }
  };
  for (const [addr, a] of Object.entries(obj(stack.accounts))) {
    if (!addr.includes("@")) continue; // the schema reports a malformed key
    claim(addr, ["accounts", addr]);
  }
  for (const [addr, a] of Object.entries(obj(stack.accounts))) {
    if (!addr.includes("@")) continue;
    const domain = addr.slice(addr.lastIndexOf("@") + 1);
    list(obj(a).aliases).forEach((alias, i) => {
      if (typeof alias !== "string") return;
      claim(alias.includes("@") ? alias : `${alias}@${domain}`, ["accounts", addr, "aliases", i]);
    });
    list(obj(a).forward).forEach((fwd, i) => {
      if (fwd === addr) out.push({ path: ["accounts", addr, "forward", i], message: "an account cannot forward to itself (a mail loop)" });
    });
  }
  return owners;
}

function describeOwner(path: Path): string {
  return path.length === 2 ? `account ${path[1]}` : `an alias of ${path[1]} (accounts["${path[1]}"].aliases[${path[3]}])`;
}

function checkReportAddresses(stack: Obj, domains: string[], owners: Owners, out: CrossProblem[]): void {
  if (stack.mail === undefined || !domains[0]) return;
  const mail = obj(stack.mail);
  const dmarc = str(obj(mail.dmarc).reports);
  const reports = dmarc ?? `postmaster@${domains[0]}`;
  const missing = (a: string) => !owners.has(a);
  if (missing(reports)) {
    out.push(dmarc
      ? { path: ["mail", "dmarc", "reports"], message: `${reports} is not an account or alias of this pod: reports sent there would bounce` }
      : { path: ["mail"], at: "key", message: `postmaster@${domains[0]} must exist (RFC 5321, and it receives DMARC reports): add it as an alias of an admin's account, or set mail.dmarc.reports` });
  }
  const tlsrpt = str(mail.tlsReports);
  if (tlsrpt && missing(tlsrpt)) {
    out.push({ path: ["mail", "tlsReports"], message: `${tlsrpt} is not an account or alias of this pod: reports sent there would bounce` });
  }
}

function checkGroups(stack: Obj, out: CrossProblem[]): void {
  const groups = Object.keys(obj(stack.groups));
  for (const [addr, a] of Object.entries(obj(stack.accounts))) {
    list(obj(a).groups).forEach((g, i) => {
      if (typeof g !== "string" || groups.includes(g)) return;
      const guess = closest(g, groups);
      out.push({ path: ["accounts", addr, "groups", i], message: `group "${g}" is not defined in groups${guess ? `; did you mean "${guess}"?` : ""}` });
    });
  }
}

function checkBackup(backup: Obj, out: CrossProblem[]): void {
  if (backup.target === undefined) return;
  const target = obj(backup.target);
  const kinds = ["sftp", "rest"].filter((k) => target[k] !== undefined);
  if (kinds.length !== 1) {
    out.push({ path: ["backup", "target"], message: `a backup target needs exactly one of sftp or rest; it has ${kinds.length ? kinds.join(" and ") : "none"}` });
  }
  const rest = obj(target.rest);
  if ((rest.username === undefined) !== (rest.password === undefined)) {
    const has = rest.username === undefined ? "password" : "username";
    out.push({ path: ["backup", "target", "rest", has], at: "key", message: `the REST login needs both username and password; it has only ${has}` });
  }
}
