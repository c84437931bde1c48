// What a stack says about the filter and the sending limits is what the
// daemons are told: rspamd's actions and ratelimit, Postfix's submission
// services; the header-From map is the same data as Postfix's sender_logins;
// and DKIM signs for each of the pod's domains by name and for no other.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { EXISTING_PROFILE } from "../../lib/infra/existing-provider";
import { loadStackFile } from "../../lib/stack/load";
import type { Stack } from "../../lib/stack/schema";
import { postfixMaps, RSPAMD_MODULES_OFF } from "../../roles/mail/role";

const ROOT = join(__dirname, "..", "..");

function hackspace(): Stack {
  const loaded = loadStackFile(join(ROOT, "stacks", "hackspace.yaml"));
  assert.ok(loaded.ok);
  return loaded.stack;
}

function mailFiles(stack: Stack): Map<string, string> {
  const state = roleNamed("mail").state(roleContext(stack, "box", (n) => `value of ${n}`, EXISTING_PROFILE));
  return new Map(state.files.map((f) => [f.path, f.content]));
}

test("the defaults: Junk from 6, refused from 15, 200 messages an hour, 50 recipients, 10 logins a minute", () => {
  const files = mailFiles(hackspace());
  const actions = files.get("/etc/rspamd/local.d/actions.conf")!;
  assert.match(actions, /^reject = 15;$/m);
  assert.match(actions, /^add_header = 6;$/m);
  assert.match(actions, /^greylist = null;$/m);
  const ratelimit = files.get("/etc/rspamd/local.d/ratelimit.conf")!;
  assert.match(ratelimit, /selector = "user\.lower";\n\s+bucket \{\n\s+burst = 200;\n\s+rate = "200 \/ 1h";/);
  const master = files.get("/etc/postfix/master.cf")!;
  for (const service of ["submission", "submissions"]) {
    const block = master.split(/\n(?=\S)/).find((b) => b.startsWith(`${service} `))!;
    assert.match(block, /-o smtpd_recipient_limit=50$/m, service);
    assert.match(block, /-o smtpd_client_auth_rate_limit=10$/m, service);
  }
  assert.doesNotMatch(master.split(/\n(?=\S)/).find((b) => b.startsWith("smtp "))!, /recipient_limit|auth_rate/, "port 25 has no member limits");
});

test("the stack's own scores and limits replace the defaults", () => {
  const stack = hackspace();
  stack.mail!.filter = { junkScore: 4.5, rejectScore: 9 };
  stack.mail!.limits = { messages: { count: 3, per: "10m" }, recipientsPerMessage: 5, authAttemptsPerMinute: 2 };
  const files = mailFiles(stack);
  assert.match(files.get("/etc/rspamd/local.d/actions.conf")!, /^reject = 9;\n(#.*\n)*add_header = 4\.5;$/m);
  assert.match(files.get("/etc/rspamd/local.d/ratelimit.conf")!, /burst = 3;\n\s+rate = "3 \/ 10m";/);
  assert.match(files.get("/etc/postfix/master.cf")!, /-o smtpd_recipient_limit=5\n\s+-o smtpd_client_auth_rate_limit=2\n/);
});

test("the header-From map is Postfix's sender_logins, and DKIM signs each pod domain and only those", () => {
  const stack = hackspace();
  const files = mailFiles(stack);
  assert.equal(files.get("/etc/rspamd/podkit/sender_logins.map"), postfixMaps(stack).senderLogins);
  assert.equal(files.get("/etc/postfix/sender_logins"), postfixMaps(stack).senderLogins);
  assert.deepEqual(files.get("/etc/rspamd/podkit/pod_domains.map")!.split("\n").filter((l) => l && !l.startsWith("#")), stack.domains);
  const dkim = files.get("/etc/rspamd/local.d/dkim_signing.conf")!;
  assert.match(dkim, /^try_fallback = false;$/m);
  const signed = [...dkim.matchAll(/^ {2}(\S+) \{\n {4}selector = "pod";\n {4}path = "\/etc\/dkimkeys\/pod\.private";/gm)].map((m) => m[1]);
  assert.deepEqual(signed, stack.domains);
});

test("every module turned off says why in its own file, and the milter and controller listen on loopback only", () => {
  const files = mailFiles(hackspace());
  for (const [module, why] of Object.entries(RSPAMD_MODULES_OFF)) {
    const f = files.get(`/etc/rspamd/local.d/${module}.conf`);
    assert.ok(f, module);
    assert.match(f, /^enabled = false;$/m, module);
    assert.ok(f.includes(why), module);
  }
  for (const m of ["fuzzy_check", "rbl", "asn", "url_redirector", "history_redis", "neural", "reputation", "greylist"]) assert.ok(m in RSPAMD_MODULES_OFF, m);
  assert.match(files.get("/etc/rspamd/override.d/worker-proxy.inc")!, /^bind_socket = "127\.0\.0\.1:11332";\nmilter = yes;$/m);
  // The proxy scans itself: self_scan on its default upstream (at the worker's level rspamd ignores it).
  assert.match(files.get("/etc/rspamd/override.d/worker-proxy.inc")!, /^upstream "local" \{\n  default = yes;\n  self_scan = yes;\n\}$/m);
  assert.match(files.get("/etc/rspamd/override.d/worker-controller.inc")!, /^bind_socket = "127\.0\.0\.1:11334";$/m);
  assert.match(files.get("/etc/rspamd/override.d/worker-normal.inc")!, /^enabled = false;$/m);
  assert.match(files.get("/etc/redis/redis.conf")!, /^port 0\nunixsocket \/run\/redis\/redis-server\.sock\nunixsocketperm 770$/m);
  assert.match(files.get("/etc/postfix/main.cf")!, /^smtpd_milters = inet:127\.0\.0\.1:11332\nnon_smtpd_milters = inet:127\.0\.0\.1:11332$/m);
});
