// What Postfix, Dovecot and Prosody themselves log for wrong passwords (SMTP AUTH on
// 587 and 465, IMAPS, ManageSieve, XMPP) in each release's checker root (Postfix 3.7,
// Dovecot 2.3 and Prosody 0.12 on Debian 12; Postfix 3.10, Dovecot 2.4 and Prosody 13
// on Debian 13; the pod's own rendered configs) is what
// podkit-ban counts: three wrong logins from one address make one ban of that
// address. The daemons write to a file here (no journal in a checker root); the
// test turns each line into the form the journal gives podkit-ban: the same
// message after the syslog tag ("postfix/submission/smtpd[pid]: ", "dovecot[pid]: ",
// "prosody[pid]: <source>: "),
// without the file's timestamp and level, which syslog lines do not carry.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderStack } from "../../lib/checker/render";
import { dovecotScramSha256 } from "../../lib/stack/passwords";
import { BAN_AWK } from "../../roles/base/banning";
import { quotaField } from "../../roles/mail/role";

const USER = "kim@example.net";

for (const release of ["bookworm", "trixie"]) {
  test(`three wrong passwords over IMAPS and ManageSieve, as Dovecot on ${release} logs them, ban the client's address`, async () => {
    const [host] = renderStack("stacks/hetzner.yaml", release);
    const users = `${USER}:${dovecotScramSha256(USER, "right password", "salt")}::::::${quotaField(release)("1G")}\n`;
    const script = `
set -u
printf '%s' '${users}' > /etc/dovecot/users
chown root:dovecot /etc/dovecot/users; chmod 640 /etc/dovecot/users
mkdir -p /var/spool/postfix/private
sed -i 's#^log_path = syslog#log_path = /tmp/dovecot.log#' /etc/dovecot/dovecot.conf
dovecot -F > /tmp/dovecot.out 2>&1 &
trap 'doveadm stop >/dev/null 2>&1; wait' EXIT
for i in $(seq 50); do timeout 1 bash -c '</dev/tcp/127.0.0.1/993' 2>/dev/null && break; sleep 0.1; done
for i in 1 2; do
  printf 'a LOGIN ${USER} "wrong"\\r\\nb LOGOUT\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:993 -quiet -ign_eof >/dev/null 2>&1
done
printf 'AUTHENTICATE "PLAIN" "%s"\\r\\nLOGOUT\\r\\n' "$(printf '\\0${USER}\\0wrong' | base64 -w0)" |
  timeout 10 openssl s_client -connect 127.0.0.1:4190 -starttls sieve -quiet -ign_eof >/dev/null 2>&1
sleep 0.5
sed -n -E 's/^.*((imap|managesieve)-login): Info: /1000.000001 dovecot[812]: \\1: /p' /tmp/dovecot.log > /tmp/journal
echo "--- journal"; cat /tmp/journal
echo "--- bans"
mawk -W interactive -v failures=3 -v within=600 -v banfor=3600 -v never='::1/128' -f ${BAN_AWK} < /tmp/journal
`;
    const r = await withHostRoot(host, (root) => root.sh(script));
    assert.equal(r.code, 0, r.output);
    const journal = r.output.split("--- journal")[1].split("--- bans")[0];
    assert.match(journal, /imap-login: .*\(auth failed, 1 attempts in \d+ secs\).*rip=127\.0\.0\.1/, r.output);
    assert.match(journal, /managesieve-login: .*\(auth failed, 1 attempts in \d+ secs\).*rip=127\.0\.0\.1/, r.output);
    assert.deepEqual(r.output.split("--- bans")[1].trim().split("\n"), ["ban 4 127.0.0.1 3600 3 failures within 600s (managesieve login)"], r.output);
  });
}

for (const release of ["bookworm", "trixie"]) {
  test(`three wrong passwords over XMPP, as Prosody on ${release} logs them with podkit's module, ban the client's address`, async () => {
    const host = renderStack("stacks/hetzner.yaml", release).find((h) => h.states.some((s) => s.role === "xmpp"))!;
    // Prosody's file log: "<time> <source>\t<level>\t<message>"; syslog's (pposix): "<source>: <message>".
    const script = `
set -u
sed -i 's#^log = .*#log = { info = "/tmp/prosody.log" }#' /etc/prosody/prosody.cfg.lua
/usr/local/sbin/podkit-chat-certs >/dev/null
install -d -o prosody -g prosody /run/prosody
install -o prosody /dev/null /tmp/prosody.log
setpriv --reuid=prosody --regid=prosody --init-groups prosody > /tmp/prosody.out 2>&1 &
trap 'kill %1 2>/dev/null; wait' EXIT
for i in $(seq 100); do timeout 1 bash -c '</dev/tcp/127.0.0.1/5222' 2>/dev/null && break; sleep 0.1; done
AUTH=$(printf '\\0sam\\0wrong' | base64 -w0)
for i in 1 2 3; do
  (printf "<?xml version='1.0'?><stream:stream to='example.org' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"; sleep 0.5
   printf "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>" "$AUTH"; sleep 1) |
    timeout 10 openssl s_client -connect 127.0.0.1:5222 -starttls xmpp -xmpphost example.org -quiet >/dev/null 2>&1
done
sed -n -E 's/^.* (c2s[0-9a-f]+)\\tinfo\\t(Failed authentication.*)$/1000.000001 prosody[977]: \\1: \\2/p' /tmp/prosody.log > /tmp/journal
echo "--- journal"; cat /tmp/journal
echo "--- bans"
mawk -W interactive -v failures=3 -v within=600 -v banfor=3600 -v never='::1/128' -f ${BAN_AWK} < /tmp/journal
`;
    const r = await withHostRoot(host, (root) => root.sh(script));
    assert.equal(r.code, 0, r.output);
    const journal = r.output.split("--- journal")[1].split("--- bans")[0];
    assert.match(journal, /prosody\[977\]: c2s[0-9a-f]+: Failed authentication attempt from IP: 127\.0\.0\.1 \(not-authorized\)/, r.output);
    assert.deepEqual(r.output.split("--- bans")[1].trim().split("\n"), ["ban 4 127.0.0.1 3600 3 failures within 600s (XMPP)"], r.output);
  });
}

for (const release of ["bookworm", "trixie"]) {
  test(`three wrong SMTP AUTH logins on 587 and 465, as Postfix on ${release} logs them, ban the client's address`, async () => {
    const host = renderStack("stacks/hetzner.yaml", release).find((h) => h.states.some((s) => s.role === "mail"))!;
    const mail = host.states.find((s) => s.role === "mail")!;
    // The maps Postfix opens, as the mail role's handlers build them; Dovecot answers Postfix's SASL questions.
    const maps = (mail.handlers ?? []).filter((h) => /^(postmap|newaliases)/.test(h.name)).map((h) => h.run).join("\n");
    const users = `${USER}:${dovecotScramSha256(USER, "right password", "salt")}::::::${quotaField(release)("1G")}\n`;
    const plain = Buffer.from(`\0${USER}\0wrong`).toString("base64");
    const smtp = (port: number, starttls: boolean, auth: string[]) => `
(sleep 1; printf 'EHLO client.example\\r\\n'; sleep 0.5; ${auth.map((a) => `printf '%s\\r\\n' '${a}'; sleep 0.5`).join("; ")}; sleep 4; printf 'QUIT\\r\\n'; sleep 0.5) |
  timeout 20 openssl s_client -connect 127.0.0.1:${port} ${starttls ? "-starttls smtp" : ""} -quiet 2>/dev/null | grep '^535'`;
    // Postfix logs to a file here (maillog_file), and without the milters no checker root runs.
    const script = `
set -u
printf '%s' '${users}' > /etc/dovecot/users
chown root:dovecot /etc/dovecot/users; chmod 640 /etc/dovecot/users
install -d -o postfix -g root -m 700 /var/spool/postfix/private
sed -i 's#^log_path = syslog#log_path = /tmp/dovecot.log#' /etc/dovecot/dovecot.conf
dovecot -F > /tmp/dovecot.out 2>&1 &
${maps}
postconf -e maillog_file=/var/log/postfix.log 'smtpd_milters=' 'non_smtpd_milters='
postfix start >/tmp/postfix.out 2>&1 || cat /tmp/postfix.out
trap 'postfix stop >/dev/null 2>&1; doveadm stop >/dev/null 2>&1; wait' EXIT
for i in $(seq 100); do timeout 1 bash -c '</dev/tcp/127.0.0.1/587' 2>/dev/null && break; sleep 0.1; done
${smtp(587, true, [`AUTH PLAIN ${plain}`])}
${smtp(587, true, ["AUTH LOGIN", Buffer.from(USER).toString("base64"), Buffer.from("wrong").toString("base64")])}
${smtp(465, false, [`AUTH PLAIN ${plain}`])}
sleep 1
sed -n -E 's/^.* mx (postfix\\/[a-z]+\\/smtpd\\[[0-9]+\\]: warning: .*SASL.*)$/1000.000001 \\1/p' /var/log/postfix.log > /tmp/journal
echo "--- journal"; cat /tmp/journal
echo "--- bans"
mawk -W interactive -v failures=3 -v within=600 -v banfor=3600 -v never='::1/128' -f ${BAN_AWK} < /tmp/journal
`;
    const r = await withHostRoot(host, (root) => root.sh(script));
    assert.equal(r.code, 0, r.output);
    const journal = r.output.split("--- journal")[1].split("--- bans")[0];
    assert.match(journal, /postfix\/submission\/smtpd\[\d+\]: warning: (unknown|localhost)\[127\.0\.0\.1\]: SASL PLAIN authentication failed: .*, sasl_username=kim@example\.net/, r.output);
    assert.match(journal, /postfix\/submission\/smtpd\[\d+\]: warning: (unknown|localhost)\[127\.0\.0\.1\]: SASL LOGIN authentication failed/, r.output);
    assert.match(journal, /postfix\/submissions\/smtpd\[\d+\]: warning: (unknown|localhost)\[127\.0\.0\.1\]: SASL PLAIN authentication failed/, r.output);
    assert.deepEqual(r.output.split("--- bans")[1].trim().split("\n"), ["ban 4 127.0.0.1 3600 3 failures within 600s (SMTP AUTH)"], r.output);
  });
}
