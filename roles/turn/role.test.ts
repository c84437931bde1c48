// Role turn: coturn runs where calls can reach it, the chat host or the chat
// host's edge, and Prosody (role xmpp) hands out credentials for that host,
// made from the one secret both read. coturn has no config checker of its
// own: what it may relay is proved by
// test/unit/turn-relays-only-to-public-peers-and-within-quotas.test.ts, and
// that it answers by the STUN probe after each restart.
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderStack } from "../../lib/checker/render";
import { serviceNames } from "../../lib/stack/derive";
import { loadStackFile } from "../../lib/stack/load";
import { REPO_ROOT } from "../../lib/paths";
import { join } from "node:path";
import { xmpp } from "../xmpp/role";
import { turn } from "./role";

const rolesOn = (stackFile: string) => Object.fromEntries(renderStack(stackFile, "bookworm").map((h) => [h.host, h]));
const fileOf = (host: ReturnType<typeof rolesOn>[string], path: string) => host.states.flatMap((s) => s.files).find((f) => f.path === path)?.content;

test("behind an edge, coturn runs on the edge and Prosody on the box sends clients there, with the secret both share", () => {
  const hosts = rolesOn("stacks/lab-edge.yaml");
  assert.ok(hosts.gw.states.some((s) => s.role === "turn"), "turn on the edge");
  assert.ok(!hosts.box.states.some((s) => s.role === "turn"), "no turn on the box");
  const prosody = fileOf(hosts.box, "/etc/prosody/prosody.cfg.lua")!;
  assert.match(prosody, /^turn_external_host = "gw\.hs\.test"$/m);
  assert.match(prosody, /^turn_external_port = 3478$/m);
  assert.match(prosody, /^turn_external_tls_port = 5349$/m);
  const secret = /^turn_external_secret = "(.*)"$/m.exec(prosody)![1];
  assert.match(fileOf(hosts.gw, "/etc/turnserver.conf")!, new RegExp(`^static-auth-secret=${secret}$`, "m"));
  // TURN over TLS: the edge's certificate is for its own name, the one Prosody names.
  assert.match(fileOf(hosts.gw, "/usr/local/sbin/podkit-turn-certs")!, /^live=\/etc\/letsencrypt\/live\/gw\.hs\.test$/m);
  const loaded = loadStackFile(join(REPO_ROOT, "stacks/lab-edge.yaml"));
  assert.ok(loaded.ok);
  assert.ok(serviceNames(loaded.stack, "gw").some((n) => n.name === "gw.hs.test"));
});

test("without an edge, coturn runs on the chat host and Prosody names that host, as before the split", () => {
  const hosts = rolesOn("stacks/lab-a.yaml");
  const chat = Object.values(hosts).find((h) => h.states.some((s) => s.role === "xmpp"))!;
  assert.ok(chat.states.some((s) => s.role === "turn"));
  assert.match(fileOf(chat, "/etc/prosody/prosody.cfg.lua")!, new RegExp(`^turn_external_host = "${chat.fqdn.replaceAll(".", "\\.")}"$`, "m"));
  assert.equal(fileOf(chat, "/usr/local/sbin/podkit-coturn")!.includes("tunnel"), false, "no tunnel anywhere in the start script");
});

test("role turn opens the STUN/TURN ports and the relay range, and role xmpp none of them", () => {
  const fixed = (ports: typeof turn.ports) => (Array.isArray(ports) ? ports : assert.fail("a fixed list of ports"));
  assert.deepEqual(fixed(turn.ports).map((p) => `${p.protocol}/${p.port ?? p.range!.join("-")}`), ["tcp/3478", "udp/3478", "tcp/5349", "udp/49152-65535"]);
  assert.deepEqual(fixed(xmpp.ports).filter((p) => p.port === 3478 || p.port === 5349 || p.range), []);
});
