// Beyond parsing: the mail role's rspamd and Redis, started in each release's
// checker root (loopback only, no network) on the rendered config, as a
// member's and an outsider's messages would reach them: GTUBE is refused, a
// member's mail is signed with the pod's key and selector, a member's header
// From must be theirs, an outsider may not claim the pod's domain, the limit
// on messages per login answers with a temporary refusal, and a message piped
// the way Dovecot's learning script pipes it raises the learned count.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderStack } from "../../lib/checker/render";

/** An SMTP client's address outside the pod (TEST-NET-1): not local to rspamd. */
const OUTSIDE = "192.0.2.9";

/** A plain message; enough words for Bayes to learn from (rspamd wants at least 11). */
const message = (from: string, subject: string) =>
  `From: ${from}\r\nTo: someone@example.net\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, "")}@test>\r\nDate: Wed, 02 Dec 2026 08:00:00 +0000\r\n\r\n` +
  "Hello, here are the minutes of the last meeting of the hackspace with the list of tools we want to buy next month.\r\n";

const GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/**
 * Redis and rspamd as their units start them (Redis as redis, rspamd's workers as _rspamd);
 * `body` runs while they answer, then both stop (by the process ids started here). Changed
 * for the test only: the member's limit is 2 messages, so a third is over it, and applies to
 * rspamc's requests too (ratelimit skips requests from rspamc unless allow_local: on a pod
 * every message comes through the milter); DNS, which nothing answers here, gives up
 * within the scan's time (8 s), as a real resolver answers long before.
 */
function withFilter(body: string): string {
  return `
set -u
adduser --quiet _rspamd redis
install -d -o redis -g redis -m 2755 /run/redis
install -d -o _rspamd -g _rspamd -m 755 /run/rspamd
sed -i 's/^\\( *burst = \\)[0-9]*;/\\12;/; s/^\\( *rate = "\\)[0-9]* \\//\\12 \\//' /etc/rspamd/local.d/ratelimit.conf
echo 'allow_local = true;' >> /etc/rspamd/local.d/ratelimit.conf
sed -i 's/^disable_hyperscan = true;$/&\\ndns { timeout = 0.3s; retransmits = 1; }/' /etc/rspamd/override.d/options.inc
grep -E 'burst|rate =' /etc/rspamd/local.d/ratelimit.conf | sed 's/^ */limit: /'
runuser -u redis -- redis-server /etc/redis/redis.conf --daemonize no > /tmp/redis.out 2>&1 &
redis=$!
rspamd -c /etc/rspamd/rspamd.conf -f -u _rspamd -g _rspamd > /tmp/rspamd.out 2>&1 &
rspamd=$!
stop() {
  kill $rspamd 2>/dev/null; for i in $(seq 50); do kill -0 $rspamd 2>/dev/null || break; sleep 0.2; done; kill -9 $rspamd 2>/dev/null
  runuser -u redis -- redis-cli -s /run/redis/redis-server.sock shutdown nosave >/dev/null 2>&1; sleep 0.2; kill -9 $redis 2>/dev/null
}
trap stop EXIT
for i in $(seq 300); do rspamc -h 127.0.0.1:11334 stat >/dev/null 2>&1 && break; sleep 0.2; done
scan() { rspamc -h 127.0.0.1:11334 -t 30 "$@"; }
${body}
`;
}

for (const release of ["bookworm", "trixie"]) {
  test(`rspamd on ${release} refuses GTUBE, signs a member's mail, enforces the header From and the sending limit, and learns`, { timeout: 240_000 }, async () => {
    const [host] = renderStack("stacks/hackspace.yaml", release);
    const out = await withHostRoot(host, async (root) => {
      const r = await root.sh(withFilter(`
echo "== listening"; ss -ltnH | awk '{print $4}' | sort
echo "== gtube"; printf '${message("x@example.net", "gtube").replace(/\r\n\r\n.*$/s, `\\r\\n\\r\\n${GTUBE}\\r\\n`)}' | scan -i ${OUTSIDE} symbols | grep -E '^Action|^Symbol: GTUBE'
echo "== member"; printf '${message("ada@hackspace.example", "member one")}' | scan -i ${OUTSIDE} -u ada@hackspace.example --mime | tr -d '\\r' | grep -A3 -E '^DKIM-Signature' | tr -d '\\n'; echo
echo "== not hers"; printf '${message("grace@hackspace.example", "not hers")}' | scan -i ${OUTSIDE} -u ada@hackspace.example symbols | grep -E '^Action|^Message - smtp_message'
echo "== alias"; printf '${message("grace@members.hackspace.example", "alias")}' | scan -i ${OUTSIDE} -u grace@hackspace.example symbols | grep -E '^Action|DKIM_SIGNED'
echo "== spoofed"; printf '${message("ada@hackspace.example", "spoofed")}' | scan -i ${OUTSIDE} symbols | grep -E '^Action|^Message - smtp_message'
printf '${message("ada@hackspace.example", "member two")}' | scan -i ${OUTSIDE} -u ada@hackspace.example symbols >/dev/null
echo "== third in the window"; printf '${message("ada@hackspace.example", "member three")}' | scan -i ${OUTSIDE} -u ada@hackspace.example symbols | grep -E '^Action|^Message - smtp_message'
echo "== learn"; printf '${message("x@example.net", "cheap tools")}' | runuser -u vmail -- /usr/local/lib/podkit/sieve-pipe/rspamd-learn spam | grep -E 'success'
rspamc -h 127.0.0.1:11334 stat | grep -E '^Messages learned'
echo "== rspamd said"; grep -iE 'error|cannot' /tmp/rspamd.out | grep -v 'maps.rspamd.com\\|query timed out\\|in-addr.arpa\\|cannot load controller stats' | head -20
`));
      assert.equal(r.code, 0, r.output);
      return r.output;
    });
    const section = (name: string) => out.split(`== ${name}\n`)[1]?.split("\n== ")[0] ?? "";
    // Nothing of the filter listens beyond loopback, and Redis on no TCP port at all.
    assert.deepEqual(section("listening").trim().split("\n").filter((a) => /:(11332|11333|11334|11335|6379)$/.test(a)), ["127.0.0.1:11332", "127.0.0.1:11334"], out);
    assert.match(section("gtube"), /^Action: reject$/m, out);
    assert.match(section("member"), /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=hackspace\.example;\s+s=pod;/m, out);
    assert.match(section("not hers"), /^Action: reject$/m, out);
    assert.match(section("not hers"), /smtp_message: Header From is not an address of your login$/m, out);
    assert.match(section("alias"), /^Action: no action$/m, out);
    assert.match(section("alias"), /DKIM_SIGNED.*members\.hackspace\.example:s=pod/, out);
    assert.match(section("spoofed"), /^Action: reject$/m, out);
    assert.match(section("spoofed"), /smtp_message: Header From claims this pod's domain without passing DMARC$/m, out);
    assert.match(section("third in the window"), /^Action: soft reject$/m, out);
    assert.match(section("third in the window"), /smtp_message: Too many messages from this login: try again later$/m, out);
    assert.match(section("learn"), /success = true/, out);
    assert.match(section("learn"), /^Messages learned: 1$/m, out);
    assert.equal(section("rspamd said").trim(), "", out);
  });
}

/**
 * A message as the edge hands it to the mail host behind it (stacks/lab-edge.yaml): the edge's
 * Received header names the real client, and a header below it, which the sender wrote, names
 * another address.
 */
const VIA_EDGE = [
  "Received: from mail.sender.example (mail.sender.example [192.0.2.77])",
  "\tby gw.hs.test (Postfix) with ESMTPS id 4A1B2C3D4E",
  "\tfor <dana@hs.test>; Wed, 02 Dec 2026 08:00:00 +0000 (UTC)",
  "Received: from forged.example (forged.example [198.51.100.1])",
  "\tby mail.sender.example with SMTP id 1; Wed, 02 Dec 2026 07:59:00 +0000",
  "From: x@sender.example", "To: dana@hs.test", "Subject: hi", "Message-ID: <edge1@test>", "Date: Wed, 02 Dec 2026 08:00:00 +0000", "",
  "Hello, here are the minutes of the last meeting of the hackspace with the list of tools.", "",
].join("\\r\\n");

for (const release of ["bookworm", "trixie"]) {
  test(`rspamd behind an edge judges the client the edge's Received header names, only for mail from the edge, never a header the sender wrote (${release})`, { timeout: 240_000 }, async () => {
    const host = renderStack("stacks/lab-edge.yaml", release).find((h) => h.host === "box")!;
    const out = await withHostRoot(host, async (root) => (await root.sh(withFilter(`
printf '${VIA_EDGE}' | scan -i 10.201.0.1 --helo gw.hs.test | grep -o 'EDGE_RELAY' | sed 's/^/from the edge: /'
printf '${VIA_EDGE}' | scan -i ${OUTSIDE} --helo other.example | grep -o 'EDGE_RELAY' | sed 's/^/from elsewhere: /'
sleep 1
# rspamd's log line for each task names the address it judged.
grep 'rspamd_task_write_log' /tmp/rspamd.out | grep -o 'ip: [^,]*'
`))).output);
    assert.equal(out.split("\n").filter((l) => !l.startsWith("limit: ")).join("\n"), "from the edge: EDGE_RELAY\nip: 192.0.2.77\nip: 192.0.2.9\n", out);
  });
}
