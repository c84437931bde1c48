// A busy moment at the MX: eight servers deliver at once, one connection per
// message, while an apply changes an alias and a quota (Postfix and Dovecot
// reload). Every message the pod accepted arrives exactly once, nothing is
// deferred (no documented limit applies to this traffic), and no mail daemon
// crashed or was restarted by systemd.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { onHost, REPO } from "./helpers";
import { burst, percentile, watchInbox } from "./load";
import { token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

const SENDERS = 8;
const EACH = 15;
const UNITS = ["postfix@-.service", "dovecot.service", "rspamd.service", "redis-server.service", "unbound.service"];
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
let pods: Pods;
let changed: string;

before(async () => {
  pods = await ensurePods(["a"]);
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  const edited = original.replace("    password: { secret: carol-password }\n", "    password: { secret: carol-password }\n    aliases: [garden]\n    quota: 3G\n");
  assert.notEqual(edited, original);
  changed = path.join(mkdtempSync(path.join(tmpdir(), "podkit-load-")), "lab-a.yaml");
  writeFileSync(changed, edited);
});

after(async () => {
  await apply("stacks/lab-a.yaml");
});

async function restarts(): Promise<Record<string, string>> {
  const r = await onHost(pods.lab, "a", `for u in ${UNITS.join(" ")}; do echo "$u $(systemctl show -p NRestarts --value $u) $(systemctl show -p MainPID --value $u)"; done`);
  // A reload keeps each daemon's main process; a crash or a restart would change it.
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => { const [u, n, pid] = l.split(" "); return [u, `restarts=${n} pid=${pid}`]; }));
}

test(`${SENDERS} servers deliver ${SENDERS * EACH} messages at once during an apply that reloads Postfix and Dovecot: each arrives once, none deferred, no daemon restarted`, async (t) => {
  const since = (await onHost(pods.lab, "a", "date +%s")).stdout.trim();
  const before = await restarts();
  const tag = token("load");
  const inbox = await watchInbox(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), tag);
  const started = Date.now();
  const sending = burst(pods, pods.a, { senders: SENDERS, each: EACH, to: "alice@a.test", tag });
  // The apply lands in the middle of the burst.
  await new Promise((r) => setTimeout(r, 3000));
  const applied = await apply(changed, "--secrets", SECRETS);
  assert.equal(applied.report.exitCode, undefined, applied.stderr);
  const reloaded = applied.report.hosts[0].roles.find((x: { role: string }) => x.role === "mail").items as string[];
  t.diagnostic(`apply during the burst: ${reloaded.join(", ")}`);
  const sent = await sending;
  const seconds = (Date.now() - started) / 1000;

  const accepted = sent.filter((s) => s.code === 250);
  const refused = sent.filter((s) => s.code !== 250);
  // Before any assertion: the watch ends (and logs out) whatever the outcome.
  const { copies, seenAt } = await inbox.until(accepted.map((s) => s.subject));
  t.diagnostic(`${accepted.length}/${sent.length} accepted in ${seconds.toFixed(1)} s (${(accepted.length / seconds).toFixed(1)} msg/s); SMTP time median ${percentile(sent.map((s) => s.ms), 50)} ms, p95 ${percentile(sent.map((s) => s.ms), 95)} ms`);
  assert.deepEqual(refused.map((s) => `${s.subject}: ${s.response}`), [], "no message deferred or refused");

  const latency = accepted.filter((s) => seenAt.has(s.subject)).map((s) => seenAt.get(s.subject)! - s.at);
  t.diagnostic(`accepted -> visible over IMAP: median ${percentile(latency, 50)} ms, p95 ${percentile(latency, 95)} ms`);
  const missing = accepted.filter((s) => !copies.has(s.subject)).map((s) => s.subject);
  const doubled = [...copies].filter(([, n]) => n !== 1).map(([s, n]) => `${s} x${n}`);
  assert.deepEqual(missing, [], "every accepted message arrived");
  assert.deepEqual(doubled, [], "none arrived twice");

  assert.deepEqual(await restarts(), before, "no mail daemon crashed or was restarted (same main process, systemd restarted none)");
  const crashes = await onHost(pods.lab, "a", `journalctl --since @${since} --no-pager -o cat | grep -E 'Main process exited, code=(killed|dumped)|segfault|Service unavailable - try again' || true`);
  assert.equal(crashes.stdout.trim(), "", "no daemon crashed and no milter failed");
});
