// Why apply's client-level probes exist (issue 19): a mail.dovecot or chat.prosody value
// that the daemon's own checker passes can still break what a TLS client sees. Here each
// break is made as an admin might make it, checked as apply checks it, then the daemon is
// started on it in the release's checker root (loopback only) and probed with podkit's own
// probe functions, trusting the host's certificate as a client trusts the pod's CA. These
// are the breaks lab test 43 applies to a live pod, which rolls them back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { imapsGreeting, probeFunctions, xmppStarttls, xmppTls } from "../../lib/converge/probes";
import type { ProbeSpec } from "../../lib/converge/types";
import type { Stack } from "../../lib/stack/schema";
import { hostWithStack, RELEASE_CODENAMES } from "./role-checks";

/** Debian's own conf.d/10-ssl.conf lines, pasted into the stack: Debian's snakeoil certificate, not the pod's. */
const DEBIAN_SSL_LINES: Record<string, NonNullable<Stack["mail"]>["dovecot"]> = {
  bookworm: { ssl_cert: "</etc/dovecot/private/dovecot.pem", ssl_key: "</etc/dovecot/private/dovecot.key" },
  trixie: { ssl_server_cert_file: "/etc/dovecot/private/dovecot.pem", ssl_server_key_file: "/etc/dovecot/private/dovecot.key" },
};

/** The probes, run as apply runs them, each printing its name, what the client saw and its status. */
function probes(cert: string, specs: ProbeSpec[]): string {
  return [
    // A client of the pod trusts the pod's CA: here the host's stand-in certificate is its own CA.
    `cat ${cert} >> /etc/ssl/certs/ca-certificates.crt`,
    probeFunctions(),
    ...specs.map((p) => `echo "${p.name}: $(${p.run}; echo " status $?")"`),
  ].join("\n");
}

for (const release of RELEASE_CODENAMES) {
  test(`mail.dovecot set to Debian's own ssl lines passes doveconf, and the IMAPS probe sees Debian's self-signed certificate (${release})`, async () => {
    const { host, state } = hostWithStack("mail", release, (s) => { s.mail!.dovecot = DEBIAN_SSL_LINES[release]; });
    const cert = `/etc/letsencrypt/live/${host.fqdn}/fullchain.pem`;
    const out = await withHostRoot(host, async (root) => {
      const checked = await root.check(state);
      assert.ok(checked.ok, `the checkers pass it:\n${checked.output}`);
      assert.ok(checked.checks.includes("doveconf"), checked.checks.join(", "));
      return (await root.sh(`
mkdir -p /var/spool/postfix/private; dovecot -F >/dev/null 2>&1 &
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/993) 2>/dev/null && break; sleep 0.1; done
${probes(cert, [imapsGreeting(993, host.fqdn)])}
doveadm stop >/dev/null 2>&1; wait`)).output;
    });
    assert.match(out, /^IMAPS greeting on 993: verify error:num=18:self-signed certificate \(certificate CN ?= ?\S+\)\s+status 1$/m, out);
  });

  test(`chat.prosody modules_enabled: [announce] passes prosodyctl check config, and the STARTTLS probe sees no STARTTLS offered (${release})`, async () => {
    const { host, state } = hostWithStack("xmpp", release, (s) => { s.chat!.prosody = { modules_enabled: ["announce"] }; });
    const domain = /^VirtualHost "([^"]+)"/m.exec(state.files.find((f) => f.path === "/etc/prosody/prosody.cfg.lua")!.content)![1];
    const live = `/etc/letsencrypt/live/${host.fqdn}`;
    const out = await withHostRoot(host, async (root) => {
      const checked = await root.check(state);
      assert.ok(checked.ok, `the checker passes it:\n${checked.output}`);
      return (await root.sh(`
# The pod's certificate names the XMPP domain too (role tls); the stand-in gets it here.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=${host.fqdn} -addext "subjectAltName=DNS:${host.fqdn},DNS:${domain}" -keyout ${live}/privkey.pem -out ${live}/fullchain.pem 2>/dev/null
/usr/local/sbin/podkit-chat-certs
mkdir -p /run/prosody; chown prosody /run/prosody
runuser -u prosody -- prosody -F >/dev/null 2>&1 &
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/5222) 2>/dev/null && break; sleep 0.1; done; sleep 0.3
${probes(`${live}/fullchain.pem`, [xmppStarttls(5222, domain), xmppTls(5223, domain)])}
kill %1; wait`)).output;
    });
    assert.match(out, new RegExp(`^STARTTLS on 5222: no STARTTLS offered for ${domain.replace(/\./g, "\\.")}: <stream:error>.*No stream features to proceed with.*\\s+status 1$`, "m"), out);
    // Direct TLS needs no module: only STARTTLS, what most clients use first, is gone.
    assert.match(out, /^TLS on 5223: \s*status 0$/m, out);
  });
}
