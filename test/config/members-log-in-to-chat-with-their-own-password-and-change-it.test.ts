// A member-owned account (no password in the stack) on the real Prosody of each
// release's checker root (0.12 on Debian 12, 13 on Debian 13) with the pod's
// rendered config and podkit's modules: its member logs in with the password
// they set (the member password file's {SCRAM-SHA-256} entry, which Dovecot
// reads too) over SCRAM-SHA-256 and PLAIN, a wrong one is refused, a stack
// account logs in from its account file as before, and the member changes the
// password from their client (XEP-0077 §3.3) through podkit-member's socket:
// here a fake of the root daemon (test/config/fake-podkit-member.py) that
// answers after two seconds, during which Prosody keeps answering others.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { withHostRoot } from "../../lib/checker/host-root";
import { renderStack } from "../../lib/checker/render";
import { dovecotScramSha256, prosodyScramSha256 } from "../../lib/stack/passwords";
import { REPO_ROOT } from "../../lib/paths";

const CLIENT = readFileSync(join(REPO_ROOT, "test/config/xmpp-client.py"), "utf8");
const DAEMON = readFileSync(join(REPO_ROOT, "test/config/fake-podkit-member.py"), "utf8");
/** Dovecot's floor: the derivation is the same at 600,000 rounds, only slower for the client. */
const ROUNDS = 4096;

for (const release of ["bookworm", "trixie"]) {
  test(`a member logs in to chat with the password they set and changes it from their client; a stack account is unchanged (${release})`, async (t) => {
    const host = renderStack("stacks/hetzner.yaml", release, (s) => {
      const { password: _, ...noor } = s.accounts["noor@example.org"];
      s.accounts["carol@example.org"] = { ...noor, name: "Carol" };
      s.accounts["dora@example.org"] = { ...noor, name: "Dora" };
    }).find((h) => h.states.some((st) => st.role === "xmpp"))!;
    const xmpp = host.states.find((st) => st.role === "xmpp")!;
    const joinGroup = xmpp.handlers!.find((h) => h.name === "prosody in group podkit-members");
    assert.ok(joinGroup, "the xmpp role puts Prosody in group podkit-members when the stack has member accounts");
    assert.ok(!xmpp.files.some((f) => /\/(carol|dora)\.dat$/.test(f.path)), "member accounts get no account file");
    // Sam's account file as podkit writes it, for a password the test knows; Carol has set hers, Dora not yet.
    const sam = prosodyScramSha256("sam@example.org", "sam password", "salt key", ROUNDS);
    const samDat = `return {\n${Object.entries(sam).sort().map(([k, v]) => `\t["${k}"] = ${typeof v === "number" ? v : `"${v}"`};`).join("\n")}\n};\n`;
    const carol = `carol@example.org:${dovecotScramSha256("carol@example.org", "carol password 1", "salt key", ROUNDS)}`;
    const script = `
set -u
cat > /tmp/xmpp-client.py <<'PODKIT_PY'
${CLIENT}
PODKIT_PY
cat > /tmp/fake-podkit-member.py <<'PODKIT_PY'
${DAEMON}
PODKIT_PY
sed -i 's#^log = .*#log = { info = "/tmp/prosody.log" }#' /etc/prosody/prosody.cfg.lua
/usr/local/sbin/podkit-chat-certs >/dev/null
cat > /var/lib/prosody/example%2eorg/accounts/sam.dat <<'PODKIT_DAT'
${samDat}PODKIT_DAT
# What role mail and podkit-member make on the same host (the checker roots have the group already).
getent group podkit-members >/dev/null || groupadd --system podkit-members
${joinGroup!.run}
install -d -m 750 -g podkit-members /var/lib/podkit/members /run/podkit-member
install -m 640 -g podkit-members /dev/null /var/lib/podkit/members/passwords
echo '${carol}' > /var/lib/podkit/members/passwords
install -d -o prosody -g prosody /run/prosody
setpriv --reuid=prosody --regid=prosody --init-groups prosody > /tmp/prosody.out 2>&1 &
PIDS=$!
trap 'kill $PIDS 2>/dev/null; wait' EXIT
for i in $(seq 100); do timeout 1 bash -c '</dev/tcp/127.0.0.1/5222' 2>/dev/null && break; sleep 0.1; done
C="timeout 60 python3 /tmp/xmpp-client.py"
$C login carol@example.org 'carol password 1' SCRAM-SHA-256
$C login carol@example.org 'carol password 1' PLAIN
$C login carol@example.org 'wrong password' SCRAM-SHA-256
$C login carol@example.org 'wrong password' PLAIN
$C login dora@example.org 'any password' SCRAM-SHA-256
$C login sam@example.org 'sam password' SCRAM-SHA-256
$C login sam@example.org 'sam password' PLAIN
$C login sam@example.org 'wrong password' PLAIN
$C change carol@example.org 'carol password 1' 'carol password 2'
python3 /tmp/fake-podkit-member.py /run/podkit-member/member.sock /var/lib/podkit/members/passwords 2 > /tmp/daemon.out 2>&1 &
PIDS="$PIDS $!"
for i in $(seq 50); do test -S /run/podkit-member/member.sock && break; sleep 0.1; done
$C change carol@example.org 'carol password 1' 'carol password 2' 'not her password'
$C ping sam@example.org 'sam password' 4 > /tmp/ping.out &
PING=$!
sleep 0.5
$C change carol@example.org 'carol password 1' 'carol password 2'
wait $PING
cat /tmp/ping.out
$C login carol@example.org 'carol password 1' SCRAM-SHA-256
$C login carol@example.org 'carol password 2' SCRAM-SHA-256
$C login carol@example.org 'carol password 2' PLAIN
$C change sam@example.org 'sam password' 'another password'
echo "--- daemon"; cat /tmp/daemon.out
echo "--- users"; prosodyctl shell "user:list('example.org')" 2>&1 | grep -E '^(carol|dora|sam|noor)@' | sort
echo "--- log"; grep -P '\t(error|warn)\t' /tmp/prosody.log
echo "--- passwords in the log"; grep -c -E 'carol password|her password|another password' /tmp/prosody.log /tmp/prosody.out || true
`;
    const r = await withHostRoot(host, (root) => root.sh(script));
    assert.equal(r.code, 0, r.output);
    const [client, daemon, users, log, passwords] = r.output.split(/--- (?:daemon|users|log|passwords in the log)\n/);
    const lines = client.trim().split("\n");
    const offered = lines[0].match(/\(offered: (.*)\)/)?.[1] ?? "";
    assert.match(offered, /\bSCRAM-SHA-256\b/, r.output);
    assert.match(offered, /\bPLAIN\b/, r.output);
    const form = "(form asks FORM_TYPE old_password password username)";
    assert.deepEqual(lines.map((l) => l.replace(/ \(offered: .*\)/, "")), [
      "login carol@example.org SCRAM-SHA-256: ok",
      "login carol@example.org PLAIN: ok",
      "login carol@example.org SCRAM-SHA-256: not-authorized",
      "login carol@example.org PLAIN: not-authorized",
      "login dora@example.org SCRAM-SHA-256: not-authorized",
      "login sam@example.org SCRAM-SHA-256: ok",
      "login sam@example.org PLAIN: ok",
      "login sam@example.org PLAIN: not-authorized",
      "get: registered",
      `plain change: error modify not-authorized ${form}`,
      "form change: error wait internal-server-error: The password service is not answering: try again later.",
      "get: registered",
      `plain change: error modify not-authorized ${form}`,
      "form change: error auth not-authorized: the old password is wrong",
      "get: registered",
      `plain change: error modify not-authorized ${form}`,
      "form change: result",
      lines[17],
      "login carol@example.org SCRAM-SHA-256: not-authorized",
      "login carol@example.org SCRAM-SHA-256: ok",
      "login carol@example.org PLAIN: ok",
      "get: registered",
      "plain change: error cancel not-allowed: This account's password is set by the pod's admin (in the pod's stack): ask them to change it.",
      "form change: error cancel not-allowed: This account's password is set by the pod's admin (in the pod's stack): ask them to change it.",
    ], r.output);
    // Sam's pings went on while the daemon took two seconds over Carol's change.
    const slowest = Number(lines[17].match(/^slowest ping: ([\d.]+) s$/)?.[1]);
    assert.ok(slowest < 1, `Prosody kept answering during the change: ${lines[17]}\n${r.output}`);
    assert.deepEqual(daemon.trim().split("\n"), [
      "change carol@example.org address new old op",
      "change carol@example.org address new old op",
    ], r.output);
    // Prosody's complaints: only that the daemon was not there, and no password in any log line.
    assert.deepEqual(log.trim().split("\n").map((l) => l.replace(/^.*?example\.org:/, "")), [
      "podkit_password\terror\tPassword change for carol@example.org: podkit-member gave cannot connect to /run/podkit-member/member.sock: No such file or directory",
    ], r.output);
    assert.deepEqual(passwords.trim().split("\n"), ["/tmp/prosody.log:0", "/tmp/prosody.out:0"], r.output);
    t.diagnostic(`offered: ${offered}; ${lines[17]}`);
    assert.deepEqual(users.trim().split("\n"), ["carol@example.org", "dora@example.org", "noor@example.org", "sam@example.org"], r.output);
  });
}
