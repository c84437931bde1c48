// Role edge's Postfix, for every example stack with an edge (stacks/lab-edge.yaml),
// passes postfix check in each release's checker root; and what it and the
// mail host behind it say to each other: the addresses the edge accepts, the
// tunnel addresses on both sides, and nothing changed for a pod without an edge.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { assertChecksPass, checkEdited, RELEASE_CODENAMES } from "../../test/config/role-checks";
import { renderStack } from "../../lib/checker/render";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { EXISTING_PROFILE } from "../../lib/infra/existing-provider";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { labProfileWithResolver } from "../../lib/lab/provider";
import { REPO_ROOT } from "../../lib/paths";
import { hostKind, rolesByHost } from "../../lib/stack/derive";
import { loadStackFile } from "../../lib/stack/load";

const file = (stackFile: string, host: string, path: string, release = "bookworm") =>
  renderStack(stackFile, release).find((h) => h.host === host)!.states.flatMap((s) => s.files).find((f) => f.path === path)?.content;
const setting = (content: string, name: string) => new RegExp(`^${name} = (.*)$`, "m").exec(content)?.[1];

for (const release of RELEASE_CODENAMES) {
  test(`the edge's Postfix passes postfix check (${release})`, async (t) => {
    await assertChecksPass(t, "edge", release);
  });

  test(`a typo in the edge's main.cf is refused by postfix check with postfix's own message (${release})`, async () => {
    const r = await checkEdited("edge", "/etc/postfix/main.cf", (c) => c.replace(/^inet_protocols = .*$/m, "inet_protocols = ipv5"), release);
    assert.equal(r.refused, "postfix check", r.output);
    assert.match(r.output, /unknown inet_protocols value "ipv5"/, r.output);
  });
}

test("the edge relays to the mail host over the tunnel exactly the addresses the mail host accepts, and keeps mail ten days for a box that is down", () => {
  const main = file("stacks/lab-edge.yaml", "gw", "/etc/postfix/main.cf")!;
  assert.equal(setting(main, "relay_domains"), "hs.test, box.hs.test");
  assert.equal(setting(main, "relay_transport"), "tobox:[10.201.0.2]:25");
  assert.equal(setting(main, "mynetworks"), "127.0.0.0/8 [::1]/128 10.201.0.2/32");
  assert.equal(setting(main, "maximal_queue_lifetime"), "10d");
  assert.equal(setting(main, "smtpd_tls_cert_file"), "/etc/letsencrypt/live/gw.hs.test/fullchain.pem");
  assert.equal(setting(main, "smtp_helo_name"), "box.hs.test");
  assert.equal(setting(main, "postscreen_dnsbl_sites"), "bl.lab.test=127.0.0.[2..255]*3");
  assert.match(file("stacks/lab-edge.yaml", "gw", "/etc/postfix/master.cf")!, /^tobox .*smtp\n(  -o .*\n)*  -o smtp_send_xforward_command=yes$/m);
  assert.deepEqual(file("stacks/lab-edge.yaml", "gw", "/etc/postfix/relay_recipients")!.split("\n").filter((l) => l && !l.startsWith("#")),
    ["dana@hs.test OK", "erin@hs.test OK", "postmaster@hs.test OK", "abuse@hs.test OK", "postmaster@box.hs.test OK"]);
});

test("the edge's own name and the mail host's differ, so neither Postfix takes the other's greeting for a loop back to itself", () => {
  const edgeMain = file("stacks/lab-edge.yaml", "gw", "/etc/postfix/main.cf")!;
  const boxMain = file("stacks/lab-edge.yaml", "box", "/etc/postfix/main.cf")!;
  assert.equal(setting(edgeMain, "myhostname"), "gw.hs.test");
  assert.equal(setting(boxMain, "myhostname"), "box.hs.test");
});

test("the mail host behind an edge sends through it, takes its XFORWARD, lets it past postscreen, and rspamd reads the real client from its Received header", () => {
  const main = file("stacks/lab-edge.yaml", "box", "/etc/postfix/main.cf")!;
  assert.equal(setting(main, "relayhost"), "[10.201.0.1]:25");
  assert.equal(setting(main, "smtpd_authorized_xforward_hosts"), "10.201.0.1/32");
  assert.equal(setting(main, "postscreen_access_list"), "permit_mynetworks, inline:{ 10.201.0.1=permit }");
  assert.equal(setting(main, "smtp_tls_security_level"), "none");
  assert.equal(setting(main, "smtp_dns_support_level"), undefined);
  assert.match(file("stacks/lab-edge.yaml", "box", "/etc/rspamd/local.d/external_relay.conf")!, /strategy = "local";/);
  assert.match(file("stacks/lab-edge.yaml", "box", "/etc/rspamd/override.d/options.inc")!, /^local_addrs = \[127\.0\.0\.0\/8, ::1, 10\.201\.0\.1\/32\];$/m);
  assert.match(file("stacks/lab-edge.yaml", "box", "/etc/rspamd/rspamd.local.lua")!, /add_condition\("EDGE_RELAY"[\s\S]*== "10\.201\.0\.1"/);
});

test("with mail.relay the smarthost is the edge's: the box relays to the edge and holds no relay password", () => {
  const hosts = renderStack("stacks/lab-edge.yaml", "bookworm", (s) => {
    s.mail!.relay = { host: "smtp.relay.test", port: 587, username: "pod", password: { secret: "relay-password" } } as never;
  });
  const files = (host: string) => hosts.find((h) => h.host === host)!.states.flatMap((s) => s.files);
  const edgeMain = files("gw").find((f) => f.path === "/etc/postfix/main.cf")!.content;
  assert.equal(setting(edgeMain, "relayhost"), "[smtp.relay.test]:587");
  assert.ok(files("gw").some((f) => f.path === "/etc/postfix/sasl_passwd"));
  assert.equal(setting(files("box").find((f) => f.path === "/etc/postfix/main.cf")!.content, "relayhost"), "[10.201.0.1]:25");
  assert.ok(!files("box").some((f) => f.path === "/etc/postfix/sasl_passwd"));
});

/**
 * Every file every role writes on every host of a stack, as a short hash of its mode, owner, group
 * and content, rendered with fixed secrets (so the same stack gives the same hashes).
 */
function fileHashes(stackFile: string): Record<string, Record<string, string>> {
  const loaded = loadStackFile(join(REPO_ROOT, stackFile));
  if (!loaded.ok) throw new Error(stackFile);
  const out: Record<string, Record<string, string>> = {};
  for (const [host, roles] of Object.entries(rolesByHost(loaded.stack))) {
    for (const release of RELEASE_CODENAMES) {
      const kind = hostKind(loaded.stack, host);
      const profile = { ...(kind === "hcloud" ? HCLOUD_PROFILE : kind === "existing" ? EXISTING_PROFILE : labProfileWithResolver()), release };
      const ctx = roleContext(loaded.stack, host, (n) => `secret-${n}`, profile);
      const files: Record<string, string> = {};
      for (const r of roles) for (const f of roleNamed(r).state(ctx).files) {
        files[f.path] = createHash("sha256").update(`${f.mode ?? ""}|${f.owner ?? ""}|${f.group ?? ""}|${asBeforeTurn(f.path, f.content)}`).digest("hex").slice(0, 16);
      }
      out[`${stackFile} ${host} ${release}`] = Object.fromEntries(Object.entries(files).sort());
    }
  }
  return out;
}

/**
 * coturn's own files moved from role xmpp to role turn: their first lines say so, and name
 * roles/turn/ for the files they point at. Read back as role xmpp wrote them, they are the same.
 */
const MOVED_TO_TURN = ["/etc/turnserver.conf", "/usr/local/sbin/podkit-coturn", "/etc/systemd/system/coturn.service.d/20-podkit-peers.conf"];
const asBeforeTurn = (path: string, content: string) =>
  MOVED_TO_TURN.includes(path) ? content.replaceAll("(role turn)", "(role xmpp)").replaceAll("roles/turn/", "roles/xmpp/") : content;

/**
 * What changed on purpose on a chat host without an edge when coturn became role turn: the
 * certificate copy and renewal scripts, each now its own daemon's (coturn's lines went to role
 * turn's podkit-turn-certs and reload.d/turn), and the check role's list of units, in which
 * coturn now comes after the backup timers (roles apply in the order their `after` gives).
 */
const CHANGED_BY_TURN = ["/usr/local/sbin/podkit-chat-certs", "/etc/podkit/tls/reload.d/xmpp", "/etc/podkit/check/check.conf"];
const ADDED_BY_TURN = ["/usr/local/sbin/podkit-turn-certs", "/etc/podkit/tls/reload.d/turn"];

test("a pod without an edge gets byte for byte the files it got before edges existed, but for coturn's move to role turn (lab-a, lab-b)", () => {
  // Hashes of every file on every host, rendered by main at 72c23f0 (before role edge, role turn and the edge settings).
  const before = JSON.parse(readFileSync(join(__dirname, "testdata", "files-before-edges.json"), "utf8")) as Record<string, Record<string, string>>;
  const without = (files: Record<string, string>, paths: string[]) => Object.fromEntries(Object.entries(files).filter(([p]) => !paths.includes(p)));
  for (const stackFile of ["stacks/lab-a.yaml", "stacks/lab-b.yaml"]) {
    for (const [key, files] of Object.entries(fileHashes(stackFile))) {
      assert.deepEqual(without(files, [...CHANGED_BY_TURN, ...ADDED_BY_TURN]), without(before[key], CHANGED_BY_TURN), `${key}: the same files with the same contents`);
      const chatHost = "/etc/turnserver.conf" in files;
      for (const p of ADDED_BY_TURN) assert.equal(p in files, chatHost, `${key}: ${p} only with coturn`);
    }
  }
});
