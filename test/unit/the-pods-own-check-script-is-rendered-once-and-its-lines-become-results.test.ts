// The pod's own checks are one script (roles/check), rendered from the stack:
// `podkit check` runs it over SSH and reads its lines, the daily timer runs
// it on the host. Its unit list comes from the other roles' declarations, its
// lines become results with meaning and fix, and a line it cannot read is
// reported rather than dropped. The outside judgements (certificates, the
// SMTP greeting, reverse DNS, blocklist answers) are pure and tested here too.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { parsePodState, stateCommand } from "../../lib/check/pod-state";
import { bannerCheck, daysLeft, judgeCert, reachJobs } from "../../lib/check/reach";
import { judgePtr } from "../../lib/check/identity";
import { dnsblName, listing } from "../../lib/check/reputation";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { labProfileWithResolver } from "../../lib/lab/provider";
import { loadStackFile } from "../../lib/stack/load";
import { CHECK_PATHS } from "../../roles/check/role";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const state = roleNamed("check").state(roleContext(stack, "mx", (name) => `value of ${name}`, labProfileWithResolver(undefined, "trixie")));
const file = (path: string) => state.files.find((f) => f.path === path)!.content;

test("the check role installs one script, its config naming every unit the host's roles run, and a daily timer", () => {
  const conf = file(CHECK_PATHS.conf);
  const units = conf.match(/^UNITS="(.*)"$/m)![1].split(" ");
  for (const u of ["postfix.service", "dovecot.service", "rspamd.service", "prosody.service", "nginx.service", "certbot.timer", "podkit-backup.timer", "unbound.service", "podkit-check.timer"]) assert.ok(units.includes(u), u);
  assert.match(conf, /^BACKUP=1$/m);
  assert.match(conf, /^POSTMASTER='postmaster@a\.test'$/m);
  assert.match(conf, /^DKIM_SELECTOR=pod$/m);
  assert.match(conf, /^PING_URL=''$/m);
  assert.match(file("/etc/systemd/system/podkit-check.timer"), /^OnCalendar=\*-\*-\* 06:00:00$/m);
  assert.match(file("/etc/systemd/system/podkit-check.service"), /^ExecStart=\/usr\/local\/sbin\/podkit-check run$/m);
  const bash = spawnSync("bash", ["-n"], { input: file(CHECK_PATHS.script) });
  assert.equal(bash.status, 0, bash.stderr?.toString());
  assert.ok(state.services!.some((s) => s.unit === "podkit-check.timer"));
});

test("a ping URL from the stack lands in the config as one quoted shell word", () => {
  const withPing = { ...stack, check: { pingUrl: "https://hc-ping.com/abc?x=1&y='2'" } };
  const s = roleNamed("check").state(roleContext(withPing, "mx", (name) => `value of ${name}`, labProfileWithResolver(undefined, "trixie")));
  const conf = s.files.find((f) => f.path === CHECK_PATHS.conf)!.content;
  const line = conf.match(/^PING_URL=.*$/m)![0];
  // The line as the script sources it: one assignment, whatever the URL holds.
  const r = spawnSync("bash", ["-c", 'eval "$1" && printf %s "$PING_URL"', "_", line]);
  assert.equal(r.stdout.toString(), "https://hc-ping.com/abc?x=1&y='2'");
});

test("the script's lines become results: ok without a fix, warn and fail with meaning and fix, info as facts", () => {
  const out = [
    "ok\tservice/postfix.service\tpostfix.service active\t\t",
    "fail\tservice/dovecot.service\tdovecot.service is inactive\tmembers cannot read mail\tsystemctl start dovecot.service",
    "warn\tqueue\t3 message(s) queued, the oldest for 75 min\tmail to some recipients is delayed\tpostqueue -p",
    "skip\toutbound\toutbound port 25 not tried\t\t",
    "info\tdkim-key\tMIIBIjAN",
    "",
  ].join("\n");
  const { results, info } = parsePodState(out, "mx");
  assert.deepEqual(info, { "dkim-key": "MIIBIjAN" });
  assert.deepEqual(results.map((r) => [r.id, r.status, r.host]), [
    ["pod/service/postfix.service", "ok", "mx"], ["pod/service/dovecot.service", "fail", "mx"], ["pod/queue", "warn", "mx"], ["pod/outbound", "skip", "mx"],
  ]);
  assert.equal(results[0].fix, undefined);
  assert.equal(results[1].meaning, "members cannot read mail");
  assert.equal(results[1].fix, "systemctl start dovecot.service");
  const odd = parsePodState("bash: line 3: oops\n", "mx").results;
  assert.equal(odd[0].status, "warn");
  assert.match(odd[0].summary, /cannot read: bash: line 3: oops/);
});

test("the command run over SSH quotes every value it passes", () => {
  assert.equal(stateCommand({}), `${CHECK_PATHS.script} state`);
  assert.equal(stateCommand({ diskFailPercent: 1, certDays: 3650, outbound: ["10.77.0.12"] }), `${CHECK_PATHS.script} state '--disk-fail' '1' '--cert-days' '3650' '--outbound' '10.77.0.12'`);
});

test("the ports checked from outside are the issue's list, each with the names its clients ask for", () => {
  const jobs = reachJobs({ stack, hosts: ["mx"], addresses: { mx: { ipv4: "10.77.0.11" } } });
  const seen = jobs.map((j) => `${j.port} ${j.names.join(",")}`).sort();
  assert.deepEqual(seen, [
    "25 mx.a.test", "443 autoconfig.a.test", "443 mta-sts.a.test", "465 mx.a.test", "5222 a.test", "5269 a.test", "587 mx.a.test", "993 mx.a.test",
  ]);
});

test("a certificate is judged as clients judge it: chain, names, and days left against the threshold", () => {
  const now = Date.parse("2026-06-01T00:00:00Z");
  const cert = (days: number, names = "DNS:mx.a.test", trusted = true) => ({
    cert: { trusted, validTo: new Date(now + days * 86_400_000), altNames: names, raw: { subject: { CN: "x" }, subjectaltname: names } as never },
  });
  const judge = (r: ReturnType<typeof cert>, certDays = 14) => judgeCert("10.77.0.11 port 993 (imaps)", "reach/mx/10.77.0.11/993", { host: "mx", names: ["mx.a.test"] }, r, { certDays, file: "stacks/lab-a.yaml" }, "mail apps refuse", now);
  assert.equal(judge(cert(80)).status, "ok");
  assert.equal(judge(cert(20)).status, "warn");
  assert.equal(judge(cert(10)).status, "fail");
  assert.equal(judge(cert(80), 3650).status, "fail", "--cert-days above the days left fails");
  assert.equal(judge(cert(80, "DNS:other.a.test")).status, "fail");
  assert.match(judge(cert(80, "DNS:other.a.test")).summary, /not valid for mx\.a\.test/);
  assert.equal(judge(cert(80, "DNS:mx.a.test", false)).status, "fail");
  assert.equal(daysLeft(new Date(now + 1.5 * 86_400_000), now), 1);
});

test("the SMTP greeting must name the MX; the reverse name must be the host's and resolve back", () => {
  assert.equal(bannerCheck(stack, { host: "mx", address: "10.77.0.11" }, { banner: "220 mx.a.test ESMTP" }, "x").status, "ok");
  const wrong = bannerCheck(stack, { host: "mx", address: "10.77.0.11" }, { banner: "220 localhost ESMTP" }, "stacks/lab-a.yaml");
  assert.equal(wrong.status, "fail");
  assert.match(wrong.summary, /names localhost/);
  assert.equal(judgePtr(stack, "mx", "10.77.0.11", ["mx.a.test"], true).status, "ok");
  assert.equal(judgePtr(stack, "mx", "10.77.0.11", ["a.lab.test"], true).status, "fail");
  assert.equal(judgePtr(stack, "mx", "10.77.0.11", [], true).status, "fail");
  assert.match(judgePtr(stack, "mx", "10.77.0.11", ["mx.a.test"], false).summary, /does not resolve to 10\.77\.0\.11/);
});

test("a blocklist answer in 127.0.0.2-255 is a listing, Spamhaus's 127.255.255.x a refused query, nothing not listed", () => {
  assert.equal(dnsblName("10.77.0.11", "bl.lab.test"), "11.0.77.10.bl.lab.test");
  assert.equal(listing(["127.0.0.2"]), "listed");
  assert.equal(listing(["127.255.255.254"]), "refused");
  assert.equal(listing([]), "clean");
  assert.equal(listing(["127.0.0.1"]), "clean");
});
