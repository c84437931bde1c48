// The how-to, proven by following it: `podkit howto stacks/lab-b.yaml` is read as a
// person reads it (test/lab/howto-reader.ts: only the Markdown, its ```sh blocks in
// order), its values made by its own blocks on this machine, and every other block
// run as root on a fresh, empty host b. Then `podkit diff` finds nothing to change in
// any role, every role's check prints what the how-to says it prints, and mail and
// chat cross between the hand-built pod and a.test.
//
// What a reader does that this test does differently, and why:
// - The secrets: a reader makes them with the blocks shown; this reader takes the
//   values already in stacks/lab-b.secrets.yaml, as the how-to tells anyone who will
//   run podkit against the pod (the lab's DNS already publishes that DKIM key). The
//   hashes are made by the how-to's own OpenSSL blocks from those values.
// - DNS: a reader publishes the records the how-to lists. The lab DNS already serves
//   b.test from the same plan (lab applies publish it), so the test compares a few
//   records with the lab resolver instead, the DKIM key with the how-to's own block.
// - The certificate is not made by hand: the how-to installs the tls role's
//   podkit-cert (certbot over http-01, with the stack's ACME directory, here the lab's
//   pebble at https://acme.lab.test:14000/dir, whose root lab hosts trust) and runs it,
//   as any reader on a real host would with Let's Encrypt.
//
// Host b is recreated empty (Debian 12, its release in the lab) and left as the pod
// lab-b, put back by `podkit apply` at the end whatever happened.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connectLabHost } from "../../lib/lab/ssh";
import { readLabState } from "../../lib/lab/state";
import { commandCount, filesWritten, fill, makeValues, readHowto, type RunStep, unfilled } from "./howto-reader";
import { podkit } from "./helpers";
import { mailBothWays } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { chatBothWays, sessionPool } from "./xmppclients";

const STACK = "stacks/lab-b.yaml";
let pods: Pods;
const pool = sessionPool();

before(async () => {
  pods = await ensurePods(["a", "b"]);
});

after(async () => {
  await pool.stopAll();
  // Whatever happened above, host b ends as the lab's pod b.test again.
  const r = await apply(STACK);
  if (r.report.exitCode) console.error(`putting lab-b back failed:\n${r.stderr}`);
});

test("the how-to for lab-b, followed block by block on a fresh host b, builds a pod podkit diff finds nothing to change in", async (t) => {
  const recreate = await podkit("lab", "recreate", "b", "--release", "bookworm");
  assert.equal(recreate.code, 0, recreate.stderr);
  const state = readLabState()!;

  const howto = await podkit("howto", STACK, "--host", "mx");
  assert.equal(howto.code, 0, howto.stderr);
  const steps = readHowto(howto.stdout);
  const values = makeValues(steps, (name) => {
    try {
      return pods.b.password(name);
    } catch {
      return undefined; // not in the secrets file: made by the how-to's block
    }
  });
  const runs = steps.filter((s): s is RunStep => s.kind === "run");
  t.diagnostic(`the how-to: ${runs.length} blocks run on the host, ${commandCount(runs)} commands, ${filesWritten(runs)} files written; ${values.size} values made or taken from the secrets file`);

  const ssh = await connectLabHost(state, "b");
  try {
    for (const [i, step] of runs.entries()) {
      const script = fill(step.script, values);
      // `<message>` is a log line's shape in a script's comment, not a value.
      assert.deepEqual(unfilled(script).filter((p) => p !== "<message>"), [], `block ${i + 1} (${step.section}) still has placeholders`);
      // As a reader pastes it into a root shell, one that stops at the first error (as apply's handler scripts do). The block goes to
      // a private file first: run from stdin, a command that reads stdin would eat the rest of it
      // (and on a command line its secrets would be in the process list).
      const runBlock = () => ssh.execCommand('f=$(mktemp) && cat > "$f" && { bash -e "$f" </dev/null; rc=$?; rm -f "$f"; exit $rc; }', { stdin: script });
      let r = await runBlock();
      // A role's check block is `systemctl is-active` and unit names alone (a handler may use `is-active -q` too).
      const activeCheck = /^systemctl is-active ((?:[\w@.-]+\.(?:service|timer|socket|mount|path) ?)+)$/.exec(step.script);
      const portCheck = /^for p in ([\d ]+); do ss /.exec(step.script);
      const expected = activeCheck ? activeCheck[1].trim().split(" ").map(() => "active") : portCheck ? portCheck[1].trim().split(" ") : undefined;
      // A check says what it prints; a daemon restarted a moment ago may need the few seconds a reader takes to look again.
      for (let tries = 0; expected && r.stdout.trim() !== expected.join("\n") && tries < 15; tries++) {
        await new Promise((ok) => setTimeout(ok, 1000));
        r = await runBlock();
      }
      if (expected) assert.equal(r.stdout.trim(), expected.join("\n"), `${step.section}: the check prints what the how-to says`);
      // The daemons' checkers print `<name>: ok` each, or FAILED.
      else if (/^if \( /m.test(step.script)) {
        assert.doesNotMatch(r.stdout, /: FAILED \(/, `${step.section}: a checker failed:\n${r.stdout.slice(-2000)}`);
        assert.equal(r.stdout.match(/: ok$/gm)?.length, step.script.match(/^if \( /gm)!.length, `${step.section}: every checker says ok`);
      }
      // Only the block's section and first line are reported: its body may hold secrets.
      if (!expected) assert.equal(r.code, 0, `block ${i + 1} of ${runs.length} (${step.section}, \`${step.script.split("\n")[0]}\`) failed:\n${r.stderr.slice(-2000)}`);
    }
  } finally {
    ssh.dispose();
  }

  // Nothing to change, in any role: files, modes, owners, packages, users, dirs, units.
  const diff = await podkit("diff", STACK, "--json");
  const report = JSON.parse(diff.stdout);
  const roles: { role: string; items: string[] }[] = report.hosts.flatMap((h: { roles: { role: string; items: string[] }[] }) => h.roles);
  assert.ok(roles.length >= 6, `diff reports every role: ${roles.map((r) => r.role).join(", ")}`);
  for (const role of roles) assert.deepEqual(role.items, [], `podkit diff: role ${role.role} would change ${role.items.join(", ")}`);
  assert.equal(report.changes, 0, diff.stderr);
  assert.equal((await podkit("diff", STACK, "--exit-code")).code, 0, "podkit diff --exit-code: no changes");
  t.diagnostic(`podkit diff after the how-to: 0 changes in ${roles.length} roles (${roles.map((r) => r.role).join(", ")})`);

  // The DNS the how-to lists is what the lab serves for b.test.
  const dkim = await pods.resolver.resolveTxt("pod._domainkey.b.test");
  assert.equal(dkim.map((c) => c.join("")).join(""), `v=DKIM1; k=rsa; p=${values.get("<DKIM_PUBLIC_KEY>")}`);
  assert.deepEqual(await pods.resolver.resolveMx("b.test"), [{ exchange: "mx.b.test", priority: 10 }]);
});

test("mail crosses both ways between a.test and the hand-built b.test", async () => {
  await mailBothWays(pods, "the pod built from the how-to");
});

test("chat crosses both ways between a.test and the hand-built b.test over verified TLS", async () => {
  const alice = await pool.login(pods, pods.a, "alice", pods.a.password("alice-password"));
  const bob = await pool.login(pods, pods.b, "bob", pods.b.password("bob-password"), { directTls: true });
  await chatBothWays(alice, bob, "hand-built");
});
