// Service discovery hands out TURN credentials
// that coturn accepts; and a table of the XMPP Compliance Suites 2023
// (XEP-0479) server features the pod advertises.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ensurePods, type Pods } from "./pods";
import { allocate, ATTR, binding, xorAddress } from "./stun";
import { login, xmlLib, type Element, type Session } from "./xmppclients";

let pods: Pods;
let alice: Session;
before(async () => {
  pods = await ensurePods();
  alice = await login(pods, pods.a, "alice", pods.a.password("alice-password"));
});
after(async () => {
  await alice?.stop();
});

test("service discovery returns TURN credentials and coturn answers STUN and allocates a relay with them", async (t) => {
  const { xml } = xmlLib();
  const r = await alice.iq(xml("iq", { type: "get", to: "a.test" }, xml("services", { xmlns: "urn:xmpp:extdisco:2" })));
  const services = r.getChild("services", "urn:xmpp:extdisco:2")!.getChildren("service").map((s) => s.attrs);
  t.diagnostic(`external services: ${services.map((s) => `${s.type}:${s.host}:${s.port}/${s.transport ?? ""}`).join(", ")}`);
  const turn = services.find((s) => s.type === "turn" && (s.transport ?? "udp") === "udp");
  assert.ok(turn?.username && turn.password, "a TURN service with credentials");
  assert.equal(turn.host, pods.a.mx);

  const stun = await binding(pods.a.ip, Number(turn.port));
  assert.equal(stun.cls, "success");
  assert.match(xorAddress(stun.attrs.get(ATTR.XOR_MAPPED_ADDRESS)!), new RegExp(`^${pods.lab.gateway.replace(/\./g, "\\.")}:\\d+$`));

  const alloc = await allocate(pods.a.ip, Number(turn.port), turn.username, turn.password);
  assert.equal(alloc.cls, "success", `allocate refused: ${alloc.error} ${alloc.attrs.get(ATTR.ERROR_CODE)?.subarray(4).toString()}`);
  t.diagnostic(`relay allocated at ${xorAddress(alloc.attrs.get(ATTR.XOR_RELAYED_ADDRESS)!)}`);
  const wrong = await allocate(pods.a.ip, Number(turn.port), turn.username, "not-the-password");
  assert.equal(wrong.error, 401, "wrong credentials are refused");
});

/**
 * XEP-0479 (Compliance Suites 2023), server side, with how each shows in
 * service discovery: a feature of the server, of an account (PEP), of the
 * group chat service, or of the upload service.
 */
const SUITE: { suite: string; what: string; where: "server" | "account" | "muc" | "room" | "upload" | "features"; feature: string; note?: string }[] = [
  { suite: "Core", what: "RFC 6120/6121 TLS, SASL, roster", where: "features", feature: "urn:ietf:params:xml:ns:xmpp-sasl" },
  { suite: "Core", what: "XEP-0030 Service Discovery", where: "server", feature: "http://jabber.org/protocol/disco#info" },
  { suite: "Core", what: "XEP-0115 Entity Capabilities", where: "features", feature: "http://jabber.org/protocol/caps",
    note: "no disco feature exists for it on servers: Prosody reads clients' caps for PEP (mod_pep) and offers its own in stream features" },
  { suite: "Core", what: "XEP-0163 PEP", where: "account", feature: "http://jabber.org/protocol/pubsub#publish" },
  { suite: "Core", what: "XEP-0368 direct TLS (SRV records)", where: "server", feature: "(DNS: _xmpps-client._tcp)" },
  { suite: "IM", what: "XEP-0045 Multi-User Chat", where: "muc", feature: "http://jabber.org/protocol/muc" },
  { suite: "IM", what: "XEP-0054/0398 vCard, avatars", where: "server", feature: "vcard-temp" },
  { suite: "IM", what: "XEP-0084 User Avatar (PEP)", where: "account", feature: "http://jabber.org/protocol/pubsub#publish-options" },
  { suite: "IM", what: "XEP-0191 Blocking", where: "server", feature: "urn:xmpp:blocking" },
  { suite: "IM", what: "XEP-0198 Stream Management", where: "features", feature: "urn:xmpp:sm:3" },
  { suite: "IM", what: "XEP-0280 Message Carbons", where: "server", feature: "urn:xmpp:carbons:2" },
  { suite: "IM", what: "XEP-0313 Message Archive (account)", where: "account", feature: "urn:xmpp:mam:2" },
  { suite: "IM", what: "XEP-0313 Message Archive (group chats)", where: "muc", feature: "urn:xmpp:mam:2" },
  { suite: "IM", what: "XEP-0363 HTTP File Upload", where: "upload", feature: "urn:xmpp:http:upload:0" },
  { suite: "IM", what: "XEP-0402 Bookmarks", where: "account", feature: "urn:xmpp:bookmarks:1#compat" },
  { suite: "IM", what: "XEP-0410 MUC Self-Ping", where: "room", feature: "http://jabber.org/protocol/muc#self-ping-optimization" },
  { suite: "Mobile", what: "XEP-0352 Client State Indication", where: "features", feature: "urn:xmpp:csi:0" },
  { suite: "Mobile", what: "XEP-0357 Push Notifications", where: "account", feature: "urn:xmpp:push:0" },
  { suite: "A/V", what: "XEP-0215 External Service Discovery", where: "server", feature: "urn:xmpp:extdisco:2" },
];

test("the pod advertises the XEP-0479 (2023) server features: Core, IM, Mobile", async (t) => {
  const { xml } = xmlLib();
  const disco = async (to?: string) => {
    const r = await alice.iq(xml("iq", { type: "get", ...(to ? { to } : {}) }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })));
    return new Set(r.getChild("query")!.getChildren("feature").map((f: Element) => f.attrs.var));
  };
  // Stream features offered before and after login (SASL, then SM and CSI), as alice's client saw them.
  // A room, for the features rooms advertise themselves (self-ping).
  const room = `compliance-${Date.now()}@conference.a.test`;
  await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
  await alice.waitFor((el) => el.is("presence") && el.attrs.from === `${room}/alice`, 10_000, "alice in a room");
  await alice.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))));
  const where = {
    server: await disco("a.test"), account: await disco(), muc: await disco("conference.a.test"), room: await disco(room), upload: await disco("upload.a.test"),
    features: alice.streamFeatures,
  };
  const dnsOk = (await pods.resolver.resolveSrv("_xmpps-client._tcp.a.test")).some((r) => r.port === 5223);
  const rows = SUITE.map((s) => ({ ...s, ok: s.feature.startsWith("(DNS") ? dnsOk : where[s.where].has(s.feature) }));
  t.diagnostic("XEP-0479 (2023) server features for a.test:");
  for (const r of rows) t.diagnostic(`  ${r.ok ? "yes" : "NO "}  ${r.suite.padEnd(6)} ${r.what.padEnd(42)} ${r.where}: ${r.feature}${r.ok || !r.note ? "" : ` (${r.note})`}`);
  const missing = rows.filter((r) => !r.ok && !r.note);
  assert.deepEqual(missing.map((r) => r.what), [], "every Core, IM and Mobile server feature is advertised");
});
