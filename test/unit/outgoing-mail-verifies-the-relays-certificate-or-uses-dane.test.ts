// Outgoing TLS as main.cf says it: without a relay, DANE where the receiving
// domain publishes TLSA records under DNSSEC (opportunistic TLS elsewhere);
// with a relay, the relay's certificate must chain to a trusted CA and name the
// relay's host, or the mail waits in the queue — the relay password never goes
// to whoever intercepts the connection. (That Postfix accepts both files:
// roles/mail/role.test.ts on both releases.)
import assert from "node:assert/strict";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
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

function mainCf(mailExtra = ""): string {
  const r = parseStack(STACK + mailExtra, "s.yaml");
  assert.ok(r.ok, r.ok ? "" : r.problems.map(formatProblem).join("\n"));
  const state = mail.state(roleContext(r.stack, "mx", (name) => `value of ${name}`, { ...EXISTING_PROFILE, release: "bookworm" }));
  return state.files.find((f) => f.path === "/etc/postfix/main.cf")!.content;
}

/** Every value main.cf gives a parameter, in order: Postfix takes the last. */
const values = (main: string, name: string) => [...main.matchAll(new RegExp(`^${name} = (.*)$`, "gm"))].map((m) => m[1]);
const setting = (main: string, name: string) => values(main, name).at(-1);

const RELAY = (port: number) => `  relay:
    host: smtp.relay.example
    port: ${port}
    username: demo
    password: {secret: relay}
`;

test("without a relay, mail to other servers uses DANE through the host's validating resolver", () => {
  const main = mainCf();
  assert.equal(setting(main, "smtp_dns_support_level"), "dnssec");
  assert.equal(setting(main, "smtp_tls_security_level"), "dane");
  assert.equal(setting(main, "relayhost"), undefined);
});

for (const port of [587, 465]) {
  test(`with a relay on ${port}, its certificate and its name are verified, or nothing is sent`, () => {
    const main = mainCf(RELAY(port));
    assert.equal(setting(main, "relayhost"), `[smtp.relay.example]:${port}`);
    assert.deepEqual(values(main, "smtp_tls_security_level"), ["secure"], "one level, and it verifies");
    // The next hop is the bracketed relay host itself: no MX lookup, so its name is what the certificate must carry.
    assert.equal(setting(main, "smtp_tls_secure_cert_match"), "nexthop");
    assert.equal(setting(main, "smtp_tls_mandatory_protocols"), ">=TLSv1.2");
    assert.equal(setting(main, "smtp_tls_wrappermode"), port === 465 ? "yes" : undefined);
    assert.equal(setting(main, "smtp_sasl_tls_security_options"), "noanonymous");
  });
}

test("the trusted CAs are a file Postfix reads before its smtp client enters the chroot, not a directory it would look for inside", () => {
  for (const main of [mainCf(), mainCf(RELAY(587))]) {
    assert.equal(setting(main, "smtp_tls_CAfile"), "/etc/ssl/certs/ca-certificates.crt");
    assert.equal(setting(main, "smtp_tls_CApath"), undefined);
  }
});

test("mail.postfix still has the last word on outgoing TLS", () => {
  const main = mainCf(`${RELAY(587)}  postfix: { smtp_tls_secure_cert_match: "nexthop, dot-nexthop" }\n`);
  assert.equal(setting(main, "smtp_tls_secure_cert_match"), "nexthop, dot-nexthop");
});
