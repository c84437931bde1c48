// XMPP accounts on the two pods talk to each
// other in both directions over TLS verified on every link; the archive hands
// bob what came while he was away; a second device of alice gets carbons; the
// mail password is the chat password, and a wrong one is refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { onHost } from "./helpers";
import { ensurePods, type Pods } from "./pods";
import { chatBody, login, sessionPool, xmlLib } from "./xmppclients";
import { token } from "./mailclients";

let pods: Pods;
const pool = sessionPool();
const session = pool.login;

before(async () => {
  pods = await ensurePods();
});
after(pool.stopAll);

test("alice@a.test and bob@b.test exchange messages both ways; client and server links verify certificates", async (t) => {
  const { xml } = xmlLib();
  const alice = await session(pods, pods.a, "alice", pods.a.password("alice-password"));
  const bob = await session(pods, pods.b, "bob", pods.b.password("bob-password"), { directTls: true });
  const hello = token("hello-bob");
  await alice.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, hello)));
  const got = await bob.waitFor((el) => el.is("message") && chatBody(el) === hello, 20_000, "alice's message");
  assert.match(got.attrs.from, /^alice@a\.test\//);
  const reply = token("hello-alice");
  await bob.xmpp.send(xml("message", { to: "alice@a.test", type: "chat" }, xml("body", {}, reply)));
  await alice.waitFor((el) => el.is("message") && chatBody(el) === reply, 20_000, "bob's reply");

  // The server-to-server link between the pods authenticated with certificates, encrypted.
  const s2s = await onHost(pods.lab, "a", "prosodyctl shell 's2s:show()' 2>&1 || true");
  t.diagnostic(s2s.stdout.split("\n").filter((l) => /b\.test/.test(l)).join(" | "));
  // Both directions: TLS, the certificate verified ("Succeeded"), dialback "Not used".
  const links = s2s.stdout.split("\n").filter((l) => /a\.test\s+\|\s+(-->|<--)\s+\|\s+b\.test/.test(l));
  assert.ok(links.length >= 1, `an s2s link between a.test and b.test exists:\n${s2s.stdout}`);
  for (const l of links) assert.match(l, /TLSv1\.[23]\s+\|\s+Succeeded\s+\|\s+Not used/, l);
  const log = await onHost(pods.lab, "a", "journalctl -u prosody --no-pager -o cat | grep -iE 's2s.*(b\\.test).*(authenticated|cert)' | tail -5");
  t.diagnostic(log.stdout.trim());
});

test("a message sent while bob is offline waits in the archive and is found by a MAM query when he logs in", async () => {
  const { xml } = xmlLib();
  const alice = await session(pods, pods.a, "alice", pods.a.password("alice-password"));
  const text = token("while-you-were-away");
  await alice.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, text)));
  const bob = await session(pods, pods.b, "bob", pods.b.password("bob-password"), { resource: "phone" });
  // Ask the archive, again until a deadline: the message may still be crossing to b.
  const deadline = Date.now() + 15_000;
  for (;;) {
    const queryid = token("q");
    await bob.iq(xml("iq", { type: "set" }, xml("query", { xmlns: "urn:xmpp:mam:2", queryid },
      xml("x", { xmlns: "jabber:x:data", type: "submit" },
        xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, "urn:xmpp:mam:2")),
        xml("field", { var: "with" }, xml("value", {}, "alice@a.test"))))));
    // The result stanzas come before the query's final iq result.
    const found = bob.inbox.some((el) => {
      const r = el.getChild("result", "urn:xmpp:mam:2");
      return r?.attrs.queryid === queryid && r.getChild("forwarded", "urn:xmpp:forward:0")?.getChild("message")?.getChildText("body") === text;
    });
    if (found) break;
    assert.ok(Date.now() < deadline, "the message is in bob's archive");
    await new Promise((r) => setTimeout(r, 300));
  }
});

test("alice's second device receives a carbon of what her first device sends", async () => {
  const { xml } = xmlLib();
  const laptop = await session(pods, pods.a, "alice", pods.a.password("alice-password"), { resource: "laptop" });
  const phone = await session(pods, pods.a, "alice", pods.a.password("alice-password"), { resource: "phone" });
  for (const s of [laptop, phone]) await s.iq(xml("iq", { type: "set" }, xml("enable", { xmlns: "urn:xmpp:carbons:2" })));
  const text = token("carbon");
  await laptop.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, text)));
  const carbon = await phone.waitFor((el) => el.getChild("sent", "urn:xmpp:carbons:2")?.getChild("forwarded", "urn:xmpp:forward:0")?.getChild("message")?.getChildText("body") === text, 10_000, "the carbon");
  assert.equal(carbon.attrs.from, "alice@a.test");
});

test("alice's mail password logs her in to chat; a wrong password does not", async () => {
  const ok = await session(pods, pods.a, "alice", pods.a.password("alice-password"));
  assert.match(ok.jid, /^alice@a\.test\//);
  await assert.rejects(login(pods, pods.a, "alice", "not-her-password"), /not-authorized/);
  await assert.rejects(login(pods, pods.a, "nobody", "whatever"), /not-authorized/);
});
