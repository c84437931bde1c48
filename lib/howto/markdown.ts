// The pod as a how-to a person follows literally on fresh Debian hosts, rendered
// from exactly the state `podkit apply` converges to. Everything a reader runs is
// a ```sh block, every file is written by one (a quoted heredoc, then its owner
// and mode), so a person and a machine (test/lab/howto-reader.ts) read the same
// thing. Blocks whose first line is `# <NAME>: ...` make a value: the reader
// runs them on their own machine and puts the output wherever <NAME> appears.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { changeVerb, dirModeOf, groupOf, modeOf, ownerOf, wantsRunning } from "../converge/changes";
import { roleContext } from "../converge/pod";
import { roleNamed } from "../converge/registry";
import type { FileSpec, RoleState } from "../converge/types";
import { planDns } from "../dns/plan";
import { rdata } from "../dns/records";
import { hostFqdn, rolesByHost } from "../stack/derive";
import type { Pod } from "../stack/pod";
import { publicKeyOfKeyFile } from "../ssh/login-key";
import { shellQuote } from "../ssh/shell";
import { mustRelease } from "../stack/releases";
import { GENERATED } from "../stack/secrets";
import { tunnelHosts, wireguardKeySecret } from "../stack/edge";
import { derivedValues, makeBlockLines, memberAccounts, placeholder, placeholdersIn, secretMakeBlock, sentinel } from "./placeholders";

/** The end of every heredoc: a line no rendered file contains (checked). */
export const HEREDOC_END = "PODKIT_EOF";

/** Where the checkers below write what they derive (a compiled sieve script, a redis socket). */
const CHECK_WORK = "/tmp/podkit-howto-check";

const ROLES_DIR = join(__dirname, "..", "..", "roles");

export function renderHowto(pod: Pod, onlyHost?: string): string {
  const { stack } = pod;
  const met = new Set<string>();
  const hosts: { host: string; title: string; states: RoleState[] }[] = [];
  for (const [host, roles] of Object.entries(rolesByHost(stack))) {
    if (onlyHost && onlyHost !== host) continue;
    const ctx = roleContext(stack, host, sentinel, pod.hosts[host].profile(stack, host), loginKeyOf(pod, host));
    const release = mustRelease(ctx.profile.release);
    hosts.push({ host, title: `Host ${host} (${hostFqdn(stack, host)}), Debian ${release.version} (${release.codename})`, states: roles.map((r) => roleNamed(r).state(ctx)) });
  }
  const allFiles = hosts.flatMap((h) => h.states.flatMap((s) => s.files));
  const derived = derivedValues(stack, {
    dovecot: allFiles.some((f) => f.path === "/etc/dovecot/users"),
    prosody: allFiles.some((f) => f.path.startsWith("/var/lib/prosody/") && f.path.endsWith(".dat")),
  });
  const text = (s: string) => placeholdersIn(derived.replace.reduce((t, [value, p]) => t.split(value).join(p), s), met);

  const body: string[] = [];
  for (const h of hosts) {
    body.push("", `## ${h.title}`, "", "On the host, as root. First the package lists, so every install below finds its packages:", "", "```sh", "apt-get update", "```");
    for (const s of h.states) body.push(...roleSection(s, text));
  }
  const dns = dnsSection(pod, text);
  // The DKIM record's key is made from the DKIM key, also where this host holds no mail.
  if (dns.some((l) => l.includes(placeholder(GENERATED.dkimKey)))) met.add(GENERATED.dkimKey);

  const out = [
    `# Building pod ${stack.pod} by hand`, "",
    `From \`${pod.file}\`, as \`podkit apply\` would build it. Follow the steps in order on fresh Debian hosts: every command is in a shell block, every file is written by one, and each role ends with a check and what it should print.`,
    "", "## Secrets", "",
    "The files below hold secrets as placeholders such as `<ALICE_PASSWORD>`. Make each value with the block under it, on your own machine (any with OpenSSL 3: passwords and the salt key need never reach the server), and put its output wherever the placeholder appears. Make them in this order: later ones are made from earlier ones. (The hash blocks hand the password to \`openssl kdf\` on its command line, where other users of the same machine could see it in the process list: use a machine only you use.)",
    "",
    `If you will ever run podkit against this pod, use the values in its secrets file (\`${pod.file.replace(/\.ya?ml$/, "")}.secrets.yaml\`, under the name in brackets) instead of new ones: the password hashes are salted from the salt key the way podkit salts them, so \`podkit diff\` then finds nothing to change. Dovecot's own \`doveadm pw -s SCRAM-SHA-256 -r 600000\` makes an equally good hash with a random salt, which podkit would rewrite.`,
  ];
  out.push(...memberSection(pod));
  const used = body.join("\n");
  const derivedUsed = derived.make.filter((m) => used.includes(m.placeholder));
  // The secrets hashes are made from appear in no file: the hash blocks name them.
  for (const name of [GENERATED.passwordSalt, ...Object.values(stack.accounts).flatMap((a) => (a.password ? [a.password.secret] : [])), ...tunnelHosts(stack).map(wireguardKeySecret)]) {
    if (derivedUsed.some((m) => m.commands.some((c) => c.includes(placeholder(name))))) met.add(name);
  }
  const names = [...met];
  // The secrets first, in a stable order; then the hashes made from them.
  const order = (n: string) => (n === GENERATED.passwordSalt ? 1 : n === GENERATED.dkimKey ? 2 : n === GENERATED.turnSecret ? 3 : 0);
  for (const name of names.sort((a, b) => order(a) - order(b) || a.localeCompare(b))) out.push("", ...makeBlockLines(secretMakeBlock(name, stack)));
  for (const m of derivedUsed) out.push("", ...makeBlockLines(m));
  out.push(...dns, ...body);
  return `${out.join("\n")}\n`;
}

/**
 * Accounts without a password in the stack get no placeholder: their members set
 * their own password through a one-time invite link, served by the web role on the
 * mail host. Said in words (no sh block: nothing here is a step of building the pod).
 */
export function memberSection(pod: Pod): string[] {
  const members = memberAccounts(pod.stack);
  if (!members.length || !pod.stack.mail) return [];
  const mx = hostFqdn(pod.stack, pod.stack.mail.host);
  return ["",
    `${members.map((m) => `\`${m}\``).join(", ")} ${members.length === 1 ? "has" : "have"} no password in the stack, so no placeholder here: each member sets their own password with a one-time invite link, \`https://${mx}/account/invite/<token>\`, and their mail is encrypted at rest with a key only that password unlocks (docs/privacy.md says what the admin can still see). \`npx podkit invite <address> ${pod.file}\` makes the link. By hand, once the pod is built: make a token of 32 random bytes in base64url (\`openssl rand 32 | basenc --base64url | tr -d =\`), and on the mail host, as root, register only its SHA-256 (\`printf %s <token> | sha256sum\`) with \`podkit-member invite-add --address <address> --kind new --expires <unix time> --hash <sha256 hex>\`; then give the member the link. Mail that arrives before they have set a password waits in the queue.`];
}

/**
 * The public half of the key podkit logs in to the host with, when podkit knows it:
 * the pod's root keys keep it (roles/base), so `podkit apply` and `podkit diff` can
 * still reach a pod built by hand. A public key, never a secret.
 */
export function loginKeyOf(pod: Pod, host: string): string | undefined {
  try {
    const target = pod.hosts[host].target(pod.stack, host, {});
    return typeof target !== "string" && target.privateKeyPath ? publicKeyOfKeyFile(target.privateKeyPath) : undefined;
  } catch {
    return undefined; // no key file here (a recorded lab, a machine that never ran podkit): the admins' keys only
  }
}

/** DNS first: certificates are issued for names that resolve to the host. */
function dnsSection(pod: Pod, text: (s: string) => string): string[] {
  const key = "PODKITDKIMPUBLICKEY";
  const records = planDns(pod.stack, { ...pod.dns, dkimPublicKey: pod.stack.mail ? key : undefined });
  const out = ["", "## DNS records", "",
    "Publish these at the pod's DNS provider before you begin on the hosts (zone-file notation; each record says why). A TXT text longer than 255 characters is split into quoted strings of at most 255 (the DKIM key is).",
    "",
    `The hosts' certificates depend on them: they come from the ACME CA the stack names (\`tls.acme.directory\`: ${pod.stack.tls.acme.directory}) by certbot over http-01, which the CA checks by fetching from each name on port 80. The tls role below writes the request and the script that runs certbot (\`/usr/local/sbin/podkit-cert\`) and runs it once nginx answers; nothing in it needs podkit.`];
  if (records.some((r) => r.type === "TXT" && r.value.includes(key))) {
    out.push("", ...makeBlockLines({ placeholder: "<DKIM_PUBLIC_KEY>", what: "the DKIM key's public half, as p= wants it (base64 of its DER form)", commands: ["openssl pkey -pubout -outform DER <<'VALUE' | base64 -w0; echo", placeholder(GENERATED.dkimKey), "VALUE"] }));
  }
  if (!records.some((r) => r.type === "A" || r.type === "AAAA")) out.push("", "(The hosts' addresses are not known yet: each host name gets an A record, and an AAAA with IPv6.)");
  out.push("", "```dns");
  for (const r of records) out.push(`; ${r.why}`, text(`${r.name}. ${r.ttl} IN ${r.type} ${rdata(r)}`).split(key).join("<DKIM_PUBLIC_KEY>"));
  out.push("```");
  return out;
}

function roleSection(s: RoleState, text: (v: string) => string): string[] {
  const out = ["", `### Role ${s.role}`, "", why(s.role), ""];
  const install: string[] = [];
  if (s.debconf?.length) install.push("debconf-set-selections <<'EOF'", ...s.debconf.map(text), "EOF");
  if (s.packages.length) install.push(`DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold ${s.packages.join(" ")}`);
  for (const u of s.users ?? []) install.push(`getent passwd ${u.name} >/dev/null || useradd --system --user-group --home-dir ${u.home} --shell /usr/sbin/nologin ${u.name}`);
  // Right after the users, before any directory or file, as apply makes them (lib/converge/scripts.ts).
  for (const g of s.groups ?? []) install.push(`getent group ${g.name} >/dev/null || groupadd --system ${g.name}`);
  for (const d of s.dirs ?? []) install.push(`install -d -m ${dirModeOf(d).toString(8)} -o ${ownerOf(d)} -g ${groupOf(d)} ${d.path}`);
  for (const a of s.absent ?? []) install.push(`rm -f ${a}`);
  if (install.length) out.push("Packages, users and directories:", "", "```sh", ...install, "```", "");
  for (const f of s.files) out.push(...fileBlock(f, text));

  // The checkers read the live files ({stage} is the root); {work} is a scratch directory, a literal
  // path because some checks name it inside quotes.
  // Each in a subshell whose status is tested, as apply runs them (lib/converge/scripts.ts): a checker's
  // last command decides, and a shell that stops at errors does not stop inside one.
  const checks = (s.checks ?? []).map((c) => `if ( ${c.run.replaceAll("{stage}", "").replaceAll("{work}", CHECK_WORK)} ); then echo ${shellQuote(`${c.name}: ok`)}; else echo ${shellQuote(`${c.name}: FAILED (what it printed above names the file and line)`)}; fi`);
  if (checks.length) {
    out.push(`Check the configuration with the daemons' own checkers before starting them. Each prints what it found, then \`<checker>: ok\` (${(s.checks ?? []).map((c) => `\`${c.name}: ok\``).join(", ")}); fix anything that says FAILED before going on:`, "", "```sh");
    if (checks.some((c) => c.includes(CHECK_WORK))) out.push(`rm -rf ${CHECK_WORK} && mkdir -m 700 ${CHECK_WORK}`);
    out.push(...checks, "```", "");
  }
  const before = (s.handlers ?? []).filter((h) => h.phase !== "after-reload");
  const after = (s.handlers ?? []).filter((h) => h.phase === "after-reload");
  if (before.length) out.push("Then what the daemons need besides their files:", "", "```sh", ...before.map((h) => `${h.run}    # ${h.name}`), "```", "");
  const services: string[] = [];
  for (const sv of s.services ?? []) {
    // A unit that reads none of the files above (a timer) needs no reload.
    if (wantsRunning(sv)) services.push(`systemctl enable --now ${sv.unit}`, ...(sv.watch.length ? [`systemctl ${changeVerb(sv)} ${sv.unit}`] : []));
    else services.push(`systemctl disable --now ${sv.unit}`);
  }
  // Units of retired packages are not on a fresh host; units the role's own packages bring are, and stay off.
  if (!s.retired?.packages?.length) for (const u of s.retired?.units ?? []) services.push(`systemctl disable --now ${u}    # not wanted: ${s.role} keeps it stopped`);
  if (services.length) out.push("Start the services, and have them read the files above:", "", "```sh", ...services, "```", "");
  if (after.length) out.push("With the services up:", "", "```sh", ...after.map((h) => `${h.run}    # ${h.name}`), "```", "");
  out.push(...checkStep(s));
  return out;
}

function fileBlock(f: FileSpec, text: (v: string) => string): string[] {
  const content = text(f.content);
  if (content.split("\n").includes(HEREDOC_END)) throw new Error(`${f.path} contains a line ${HEREDOC_END}, which would end its heredoc`);
  const mode = modeOf(f).toString(8);
  const dir = f.path.slice(0, f.path.lastIndexOf("/")) || "/";
  const lines = [`- \`${f.path}\`, mode ${mode}, owner ${ownerOf(f)}:${groupOf(f)}${f.secret ? " (holds secrets: fill in its placeholders)" : ""}:`, "", "```sh", ...(dir === "/etc" ? [] : [`mkdir -p ${dir}`])];
  // A secret file is never readable by others, not even while it is written.
  if (f.secret) lines.push(`install -m 600 /dev/null ${f.path}`);
  lines.push(`cat > ${f.path} <<'${HEREDOC_END}'`, ...(content.endsWith("\n") ? content.slice(0, -1) : content).split("\n"), HEREDOC_END);
  // A heredoc always ends in a newline; a file without a final one loses it again.
  if (!content.endsWith("\n")) lines.push(`truncate -s -1 ${f.path}`);
  lines.push(`chown ${ownerOf(f)}:${groupOf(f)} ${f.path}`, `chmod ${mode} ${f.path}`, "```", "");
  return lines;
}

/** After each role: a command a person runs to see it worked, and what it prints. */
function checkStep(s: RoleState): string[] {
  const running = (s.services ?? []).filter(wantsRunning).map((sv) => sv.unit);
  if (running.length) {
    const ports = (s.services ?? []).flatMap((sv) => sv.ports ?? []);
    const out = [`Check: every service of the role runs. This prints \`active\` ${running.length === 1 ? "once" : `${running.length} times, one line per unit`}:`, "", "```sh", `systemctl is-active ${running.join(" ")}`, "```"];
    if (ports.length) {
      out.push("", `and something listens on each of its ports (${ports.join(", ")}); this prints each port number:`, "", "```sh",
        `for p in ${ports.join(" ")}; do ss -Hltn "sport = :$p" | grep -q . && echo $p; done`, "```");
    }
    return out;
  }
  return ["Check: the role's files are in place; this prints `ok`:", "", "```sh", `ls ${s.files.map((f) => f.path).join(" ")} >/dev/null && echo ok`, "```"];
}

/** Two or three sentences from the role's README: why it is set up this way. */
export function why(role: string): string {
  const file = join(ROLES_DIR, role, "README.md");
  if (!existsSync(file)) return `(roles/${role}/README.md says what it does.)`;
  const lines = readFileSync(file, "utf8").split("\n").slice(1);
  const para: string[] = [];
  for (const l of lines) {
    if (!l.trim()) { if (para.length && !para.at(-1)!.endsWith(":")) break; continue; }
    if (l.startsWith("#")) break;
    para.push(l.trim().replace(/^[-*] /, ""));
  }
  const plain = para.join(" ").replace(/\[([^\]]+)\]\([^)]*\)/g, "$1").replace(/\*\*/g, "");
  // A sentence ends at a full stop before a capital, not at the dot of `/etc/hostname`.
  const sentences = plain.split(/(?<=[.!?:])\s+(?=[A-Z(`*])/);
  return `${sentences.slice(0, 3).join(" ").trim()} (More: roles/${role}/README.md.)`;
}
