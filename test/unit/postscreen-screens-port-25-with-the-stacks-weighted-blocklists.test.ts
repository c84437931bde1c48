// Port 25 is answered by postscreen: the pregreet test and the stack's weighted
// DNS blocklists (mail.dnsbl) refuse a bot before smtpd sees it; a client that
// passes gets smtpd with every restriction it had before. What a user notices:
// the stack's blocklists and threshold in main.cf, Spamhaus ZEN when the stack
// says nothing, none at all for `sites: []`, and a mistyped zone or a threshold
// no listing can reach stopped at its line. (That Postfix accepts the files:
// roles/mail/role.test.ts, in both releases' checker roots.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import type { RoleState } from "../../lib/converge/types";
import { EXISTING_PROFILE } from "../../lib/infra/existing-provider";
import { parseStack } from "../../lib/stack/load";
import { formatProblem } from "../../lib/stack/problems";
import { mail } from "../../roles/mail/role";

const STACK = `pod: demo
domains: [example.org]
hosts:
  mx:
    existing:
      address: 203.0.113.10
      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8
dns:
  zonefile: {nameservers: [ns1.example.net]}
accounts:
  alice@example.org:
    password: {secret: alice}
    aliases: [postmaster]
mail:
  host: mx
`;

function load(extra = ""): ReturnType<typeof parseStack> {
  return parseStack(STACK + extra.split("\n").map((l) => (l ? `  ${l}` : l)).join("\n"), "s.yaml");
}

function rendered(extra = "", release = "bookworm"): { state: RoleState; main: string; master: string } {
  const r = load(extra);
  assert.ok(r.ok, r.ok ? "" : r.problems.map(formatProblem).join("\n"));
  const state = mail.state(roleContext(r.stack, "mx", (name) => `value of ${name}`, { ...EXISTING_PROFILE, release }));
  const file = (path: string) => state.files.find((f) => f.path === path)!.content;
  return { state, main: file("/etc/postfix/main.cf"), master: file("/etc/postfix/master.cf") };
}

const setting = (main: string, name: string) => main.match(new RegExp(`^${name} = (.*)$`, "m"))?.[1];

function problems(extra: string): string[] {
  const r = load(extra);
  return r.ok ? [] : r.problems.map(formatProblem);
}

test("a stack that names no blocklist refuses clients Spamhaus ZEN lists", () => {
  const { main } = rendered();
  assert.equal(setting(main, "postscreen_dnsbl_sites"), "zen.spamhaus.org=127.0.0.[2..255]*3");
  assert.equal(setting(main, "postscreen_dnsbl_threshold"), "3");
  assert.equal(setting(main, "postscreen_dnsbl_action"), "enforce");
});

test("the stack's blocklists, weights and threshold are postscreen's, and only 127.0.0.2-255 counts as listed", () => {
  const { main } = rendered(`dnsbl:
  sites:
    - { zone: zen.spamhaus.org, weight: 3 }
    - { zone: bl.spamcop.net, weight: 2 }
    - { zone: psbl.surriel.com }
  threshold: 3
`);
  // Spamhaus answers 127.255.255.254 to a refused query: counted, it would refuse every client.
  assert.equal(setting(main, "postscreen_dnsbl_sites"),
    "zen.spamhaus.org=127.0.0.[2..255]*3, bl.spamcop.net=127.0.0.[2..255]*2, psbl.surriel.com=127.0.0.[2..255]*1");
  assert.equal(setting(main, "postscreen_dnsbl_threshold"), "3");
});

test("the lab's blocklist, as the lab stacks name it, refuses a client on one listing", () => {
  const { main } = rendered("dnsbl:\n  sites: [{ zone: bl.lab.test, weight: 3 }]\n", "trixie");
  assert.equal(setting(main, "postscreen_dnsbl_sites"), "bl.lab.test=127.0.0.[2..255]*3");
  assert.ok(Number(setting(main, "postscreen_dnsbl_threshold")) <= 3);
});

test("`sites: []` asks no blocklist, and the pregreet test stays", () => {
  const { main } = rendered("dnsbl: { sites: [] }\n");
  assert.doesNotMatch(main, /^postscreen_dnsbl_/m);
  assert.equal(setting(main, "postscreen_greet_action"), "enforce");
});

test("postscreen answers port 25 and passes clients to an smtpd with main.cf's restrictions, smuggling rules included", () => {
  const { main, master } = rendered();
  const services = master.split("\n").filter((l) => /^\S/.test(l) && !l.startsWith("#"));
  assert.ok(services.includes("smtp      inet  n       -       y       -       1       postscreen"), master);
  assert.ok(services.includes("smtpd     pass  -       -       y       -       -       smtpd"), master);
  assert.ok(services.some((l) => /^dnsblog\s+unix\b.*\bdnsblog$/.test(l)), master);
  // STARTTLS to a client postscreen keeps talking to (one it refuses) goes through tlsproxy.
  assert.ok(services.some((l) => /^tlsproxy\s+unix\b.*\btlsproxy$/.test(l)), master);
  assert.equal(services.filter((l) => /\ssmtpd$/.test(l) && /^smtp\s/.test(l)).length, 0, "no smtpd listens on 25 beside postscreen");
  // The pass service overrides nothing: port 25's smtpd runs on main.cf alone.
  const afterPass = master.split("\n").slice(master.split("\n").findIndex((l) => l.startsWith("smtpd     pass")) + 1);
  assert.doesNotMatch(afterPass[0], /^\s+-o/);
  assert.equal(setting(main, "smtpd_forbid_bare_newline"), "normalize");
  assert.equal(setting(main, "smtpd_forbid_unauth_pipelining"), "yes");
  assert.equal(setting(main, "smtpd_data_restrictions"), "reject_unauth_pipelining");
  assert.match(main, /^smtpd_recipient_restrictions =\n(\s+.*\n)*\s+reject_unknown_sender_domain,/m);
  // Deep protocol tests would make every new sender come back later: off.
  for (const deep of ["postscreen_pipelining_enable", "postscreen_non_smtp_command_enable", "postscreen_bare_newline_enable"]) {
    assert.equal(setting(main, deep), "no", deep);
  }
  assert.equal(setting(main, "postscreen_access_list"), "permit_mynetworks");
});

test("blocklist and sender-domain lookups from Postfix's chroot follow the host's resolver after it changes", () => {
  const { state } = rendered();
  const sync = state.handlers?.find((h) => h.run.includes("/var/spool/postfix/etc/resolv.conf"));
  assert.ok(sync, "a handler copies /etc/resolv.conf into Postfix's chroot");
  // Due on any apply where the copy differs (a reload does not copy it; Debian copies it at start only).
  assert.equal(sync.unless, "cmp -s /etc/resolv.conf /var/spool/postfix/etc/resolv.conf");
  assert.match(sync.run, /^install -D -m 644 \/etc\/resolv\.conf \/var\/spool\/postfix\/etc\/resolv\.conf$/);
  assert.ok(sync.when.includes("/etc/postfix/main.cf"));
});

const CASES: [string, string, string[]][] = [
  ["a zone that is not a domain name", "dnsbl:\n  sites: [{ zone: zen.spamhaus.org., weight: 3 }]\n",
    ['s.yaml:17:21 mail.dnsbl.sites[0].zone: expected a lower-case domain name without a trailing dot (e.g. "example.org"), got "zen.spamhaus.org."']],
  ["a weight of 0", "dnsbl:\n  sites: [{ zone: zen.spamhaus.org, weight: 0 }]\n",
    ["s.yaml:17:47 mail.dnsbl.sites[0].weight: expected at least 1, got number 0"]],
  ["a weight above 10", "dnsbl:\n  sites: [{ zone: zen.spamhaus.org, weight: 11 }]\n",
    ["s.yaml:17:47 mail.dnsbl.sites[0].weight: expected at most 10, got number 11"]],
  ["a weight that is not whole", "dnsbl:\n  sites: [{ zone: zen.spamhaus.org, weight: 1.5 }]\n",
    ["s.yaml:17:47 mail.dnsbl.sites[0].weight: expected a whole number, got number 1.5"]],
  ["a threshold of 0", "dnsbl: { threshold: 0 }\n",
    ["s.yaml:16:23 mail.dnsbl.threshold: expected at least 1, got number 0"]],
  ["a threshold the sites cannot reach together", "dnsbl:\n  sites: [{ zone: zen.spamhaus.org, weight: 3 }, { zone: bl.spamcop.net }]\n  threshold: 5\n",
    ["s.yaml:18:16 mail.dnsbl.threshold: expected a threshold the sites can reach: they weigh 4 together, so a threshold of 5 would never refuse anyone, got number 5"]],
];

for (const [what, extra, expected] of CASES) {
  test(`mail.dnsbl refuses ${what}, at its line`, () => {
    assert.deepEqual(problems(extra), expected);
  });
}
