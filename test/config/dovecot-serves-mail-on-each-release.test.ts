// Beyond parsing: the rendered Dovecot config, started in each release's
// checker root (loopback only), logs in with the hashes podkit writes, puts
// each account's mail and sieve scripts where the backups expect them,
// delivers over the LMTP socket Postfix uses through the account's own sieve
// filter, and serves IMAPS; and what Dovecot 2.3 (Debian 12) left in a mailbox
// is read by Dovecot 2.4 (Debian 13), as after a rebuild and restore. Mail the
// filter marked goes to Junk, and moving mail into or out of Junk over IMAP
// runs the learning program (IMAPSieve) with the message. The global scripts
// compile against the new config while dovecot still runs on an old one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderStack } from "../../lib/checker/render";
import { dovecotScramSha256 } from "../../lib/stack/passwords";
import { quotaField } from "../../roles/mail/role";

const PASSWORD = "correct horse battery";
const USER = "kim@example.net";
const HOME = "/var/mail/vhosts/example.net/kim";

/** Speaks LMTP to the socket Postfix delivers to, as Postfix would (perl-base is in every Debian). */
const LMTP = `
use IO::Socket::UNIX;
my $s = IO::Socket::UNIX->new(Peer => "/var/spool/postfix/private/dovecot-lmtp") or die "connect: $!";
sub rd { my $l; do { $l = <$s>; print "S: $l" } while ($l =~ /^\\d{3}-/); }
sub wr { print $s "$_[0]\\r\\n"; }
rd(); wr("LHLO test"); rd(); wr('MAIL FROM:<a@b.example>'); rd(); wr('RCPT TO:<${USER}>'); rd();
wr("DATA"); rd(); print $s "From: a\\@b.example\\r\\nSubject: xylophone\\r\\n\\r\\nbody\\r\\n.\\r\\n"; rd(); wr("QUIT"); rd();
`;

/** The users file with a password we know, Dovecot started, `body` run, Dovecot stopped; prints what body prints. */
function withDovecot(release: string, body: string, before = ""): string {
  const users = `${USER}:${dovecotScramSha256(USER, PASSWORD, "the pod's password-salt secret")}::::::${quotaField(release)("1G")}\n`;
  return `
set -u
printf '%s' '${users}' > /etc/dovecot/users
chown root:dovecot /etc/dovecot/users; chmod 640 /etc/dovecot/users
mkdir -p /var/spool/postfix/private
${before}
dovecot -F > /tmp/dovecot.out 2>&1 &
trap 'doveadm stop >/dev/null 2>&1; wait' EXIT
for i in $(seq 50); do [ -S /var/spool/postfix/private/dovecot-lmtp ] && break; sleep 0.1; done
${body}
`;
}

async function inRoot(release: string, script: string): Promise<string> {
  const [host] = renderStack("stacks/hetzner.yaml", release);
  const r = await withHostRoot(host, (root) => root.sh(script));
  assert.equal(r.code, 0, r.output);
  return r.output;
}

for (const release of ["bookworm", "trixie"]) {
  test(`Dovecot on ${release} logs in with podkit's hash, delivers over LMTP through the account's sieve filter and serves IMAPS`, async () => {
    const out = await inRoot(release, withDovecot(release, `
doveadm auth test ${USER} '${PASSWORD}' 2>&1 | head -1
doveadm auth test ${USER} wrong 2>&1 | head -1
doveadm user -f home ${USER}
printf 'require "fileinto";\\nif header :contains "subject" "xylo" { fileinto "Junk"; }\\n' | doveadm sieve put -u ${USER} -a filters
cat > /tmp/lmtp.pl <<'PL'
${LMTP}PL
perl /tmp/lmtp.pl | tr -d '\\r' | grep -E '^S: 250 2\\.0\\.0'
doveadm fetch -u ${USER} 'mailbox hdr.subject' all | tr '\\n' ' '; echo
readlink ${HOME}/.dovecot.sieve
printf 'a LOGIN ${USER} "${PASSWORD}"\\r\\nb GETQUOTAROOT INBOX\\r\\nc LOGOUT\\r\\n' | timeout 5 openssl s_client -connect 127.0.0.1:993 -quiet -ign_eof 2>/dev/null | tr -d '\\r' | grep -E '^(a OK|\\* QUOTA )'
`));
    assert.match(out, /passdb: kim@example\.net auth succeeded/, out);
    assert.match(out, /passdb: kim@example\.net auth failed/, out);
    assert.match(out, new RegExp(`^${HOME}$`, "m"), out);
    assert.match(out, /^S: 250 2\.0\.0 <kim@example\.net> .* Saved$/m, out);
    assert.match(out, /mailbox: Junk hdr\.subject: xylophone/, out);
    assert.match(out, /^sieve\/filters\.sieve$/m, out);
    assert.match(out, /^a OK .*Logged in$/m, out);
    assert.match(out, /^\* QUOTA "User quota" \(STORAGE 1 1048576\)$/m, out);
  });
}

test("a mailbox and sieve filter that Dovecot 2.3 made on Debian 12 are read by Dovecot 2.4 on Debian 13", async () => {
  const made = await inRoot("bookworm", withDovecot("bookworm", `
printf 'From: a@b.example\\nSubject: kept from bookworm\\n\\nhello\\n' | doveadm save -u ${USER}
printf 'keep;\\n' | doveadm sieve put -u ${USER} -a old-filter
doveadm stop; wait; trap - EXIT
echo "TAR $(tar -C / -czf - var/mail/vhosts | base64 -w0)"
`));
  const tar = /^TAR (\S+)$/m.exec(made)?.[1];
  assert.ok(tar, made);
  const out = await inRoot("trixie", withDovecot("trixie", `
doveadm fetch -u ${USER} 'mailbox hdr.subject' all | tr '\\n' ' '; echo
doveadm sieve list -u ${USER}
doveadm quota get -u ${USER} | grep STORAGE
`, `echo '${tar}' | base64 -d | tar -C / -xzf -; chown -R vmail:vmail /var/mail/vhosts`));
  assert.match(out, /mailbox: INBOX hdr\.subject: kept from bookworm/, out);
  assert.match(out, /^old-filter ACTIVE$/m, out);
  assert.match(out, /^User quota STORAGE\s+1\s+1048576/m, out);
});

/** LMTP delivery of a message rspamd marked as spam (the milter's "X-Spam: Yes"), as Postfix would hand it over. */
const LMTP_SPAM = LMTP.replace('"From: a\\@b.example\\r\\nSubject: xylophone', '"X-Spam: Yes\\r\\nFrom: a\\@b.example\\r\\nSubject: marked');

for (const release of ["bookworm", "trixie"]) {
  test(`Dovecot on ${release} files mail marked X-Spam into Junk, and copying into or out of Junk teaches the filter, but not into Trash`, async () => {
    // The learning program is replaced by one that notes what it was asked: rspamd does not run here.
    const out = await inRoot(release, withDovecot(release, `
cat > /tmp/lmtp.pl <<'PL'
${LMTP_SPAM}PL
perl /tmp/lmtp.pl | tr -d '\\r' | grep -E '^S: 250 2\\.0\\.0'
printf 'From: c@d.example\\nSubject: plain\\n\\nhello\\n' | doveadm save -u ${USER}
doveadm fetch -u ${USER} 'mailbox hdr.subject' all | tr '\\n' ' '; echo
printf 'a LOGIN ${USER} "${PASSWORD}"\\r\\nb SELECT INBOX\\r\\nc COPY 1 Junk\\r\\nd SELECT Junk\\r\\ne MOVE 1 INBOX\\r\\nf UID MOVE 2 Trash\\r\\ng LOGOUT\\r\\n' | timeout 10 openssl s_client -connect 127.0.0.1:993 -quiet -ign_eof 2>/dev/null | tr -d '\\r' | grep -E '^[a-g] (OK|NO|BAD)'
sleep 0.5; for f in /tmp/learned-*; do echo "$f $(grep -c '^Subject' "$f")"; grep '^Subject' "$f"; done
`, `
sievec /etc/dovecot/sieve/spam-to-junk.sieve && sievec /etc/dovecot/sieve/learn-spam.sieve && sievec /etc/dovecot/sieve/learn-ham.sieve
printf '#!/bin/sh\\ncat >> /tmp/learned-$1\\n' > /usr/local/lib/podkit/sieve-pipe/rspamd-learn
chmod 755 /usr/local/lib/podkit/sieve-pipe/rspamd-learn; touch /tmp/learned-spam /tmp/learned-ham; chmod 666 /tmp/learned-*
`));
    assert.match(out, /^S: 250 2\.0\.0 <kim@example\.net> .* Saved$/m, out);
    assert.match(out, /mailbox: Junk hdr\.subject: marked/, out);
    assert.doesNotMatch(out, /mailbox: INBOX hdr\.subject: marked/, out);
    assert.match(out, /^e OK/m, out);
    assert.match(out, /^f OK/m, out);
    // "plain" copied into Junk: learned as spam. "marked" moved from Junk to INBOX: ham; "plain"
    // moved on from Junk to Trash: nothing more.
    assert.match(out, /^\/tmp\/learned-spam 1\nSubject: plain$/m, out);
    assert.match(out, /^\/tmp\/learned-ham 1\nSubject: marked$/m, out);
  });
}

// A host where Debian's dovecot already runs on its own config when podkit first applies:
// the global scripts are compiled before the reload, so against the new dovecot.conf
// (Dovecot 2.4's sievec otherwise asks the running dovecot, whose config has no sieve plugins).
for (const release of ["bookworm", "trixie"]) {
  test(`the global sieve scripts compile against the new dovecot.conf while dovecot still runs on an old one (${release})`, async () => {
    const [host] = renderStack("stacks/hetzner.yaml", release);
    const compile = host.states.find((s) => s.role === "mail")?.handlers?.find((h) => h.name === "compile the global sieve scripts");
    assert.ok(compile, "the mail role compiles its global sieve scripts");
    const versions = release === "bookworm" ? "" : "dovecot_config_version = 2.4.1\ndovecot_storage_version = 2.4.1\n";
    const out = await inRoot(release, `
set -u
printf '${versions}protocols =\\nssl = no\\nlog_path = /tmp/old-dovecot.log\\n' > /tmp/old.conf
dovecot -c /tmp/old.conf
trap 'doveadm -c /tmp/old.conf stop >/dev/null 2>&1' EXIT
for i in $(seq 50); do [ -S /run/dovecot/config ] && break; sleep 0.1; done
[ -S /run/dovecot/config ] && kill -0 "$(cat /run/dovecot/master.pid)" && echo "old dovecot runs"
rm -f /etc/dovecot/sieve/*.svbin
( ${compile.run} ) 2>&1; echo "compiled: $?"
ls /etc/dovecot/sieve/
`);
    assert.match(out, /^old dovecot runs$/m, out);
    assert.match(out, /^compiled: 0$/m, out);
    for (const script of ["spam-to-junk", "learn-spam", "learn-ham"]) assert.match(out, new RegExp(`^${script}\\.svbin$`, "m"), out);
  });
}
