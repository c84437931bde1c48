// A client gets an upload slot, PUTs a file and
// GETs the same bytes back; bob on b.test joins a group chat on a.test across
// the federation and receives what is posted there; a pod admin can destroy a
// room someone else created.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { token } from "./mailclients";
import { ensurePods, type Pods } from "./pods";
import { podRequest, upload } from "./uploads";
import { sessionPool, xmlLib } from "./xmppclients";

let pods: Pods;
const pool = sessionPool();
const session = pool.login;
before(async () => {
  pods = await ensurePods();
});
after(pool.stopAll);

test("an upload slot is granted, the PUT succeeds and the GET returns the same bytes", async () => {
  const alice = await session(pods, pods.a, "alice", pods.a.password("alice-password"));
  const file = randomBytes(150_000);
  const put = await upload(pods, pods.a, alice, file, "photo.jpg", "image/jpeg");
  assert.match(put.putUrl, /^https:\/\/upload\.a\.test:5281\//);
  assert.equal(put.putStatus, 201);
  const down = await podRequest(pods, pods.a, "GET", put.getUrl);
  assert.equal(down.status, 200);
  assert.ok(down.body.equals(file), "the same bytes came back");
});

test("a file over the size limit gets no slot", async () => {
  const { xml } = xmlLib();
  const alice = await session(pods, pods.a, "alice", pods.a.password("alice-password"));
  // The answer is read where the request is made: a refusal is the expected outcome, never left unhandled.
  const answer = await alice.iq(xml("iq", { type: "get", to: "upload.a.test" },
    xml("request", { xmlns: "urn:xmpp:http:upload:0", filename: "big.iso", size: String(1 << 30), "content-type": "application/octet-stream" })))
    .then(() => "a slot was granted", (err: Error) => String(err));
  assert.match(answer, /not-acceptable|file-too-large/);
});

test("bob@b.test joins a room on conference.a.test and gets its messages; a pod admin destroys a room carol made", async () => {
  const { xml } = xmlLib();
  const room = `${token("room")}@conference.a.test`;
  const carol = await session(pods, pods.a, "carol", pods.a.password("carol-password"));
  const bob = await session(pods, pods.b, "bob", pods.b.password("bob-password"));
  const alice = await session(pods, pods.a, "alice", pods.a.password("alice-password"));

  // carol (not an admin) creates the room and accepts the default configuration.
  await carol.xmpp.send(xml("presence", { to: `${room}/carol` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
  await carol.waitFor((el) => el.is("presence") && el.attrs.from === `${room}/carol`, 10_000, "carol's own presence in the room");
  await carol.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))));

  // bob joins from the other pod, over the federation.
  await bob.xmpp.send(xml("presence", { to: `${room}/bob` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
  await bob.waitFor((el) => el.is("presence") && el.attrs.from === `${room}/bob` && !el.attrs.type, 20_000, "bob's own presence in the room");

  const text = token("group-hello");
  await carol.xmpp.send(xml("message", { to: room, type: "groupchat" }, xml("body", {}, text)));
  const got = await bob.waitFor((el) => el.is("message") && el.attrs.type === "groupchat" && el.getChildText("body") === text, 20_000, "the group message");
  assert.equal(got.attrs.from, `${room}/carol`);

  // alice is a pod admin: she may destroy a room she neither made nor joined.
  await alice.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("destroy", {}, xml("reason", {}, "closed by a pod admin")))));
  const gone = await bob.waitFor((el) => el.is("presence") && el.attrs.type === "unavailable" && el.attrs.from === `${room}/bob` && !!el.getChild("x", "http://jabber.org/protocol/muc#user")?.getChild("destroy"), 20_000, "the room's destruction");
  assert.ok(gone);
  const info = alice.iq(xml("iq", { type: "get", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/disco#info" })));
  // Prosody keeps a tombstone for a while: joining it says "gone", with the admin's reason.
  await assert.rejects(info, /item-not-found|gone/, "the room no longer exists");
});

test("an ordinary member may not destroy a room made by someone else", async () => {
  const { xml } = xmlLib();
  const room = `${token("room")}@conference.a.test`;
  const alice = await session(pods, pods.a, "alice", pods.a.password("alice-password"));
  const carol = await session(pods, pods.a, "carol", pods.a.password("carol-password"));
  await alice.xmpp.send(xml("presence", { to: `${room}/alice` }, xml("x", { xmlns: "http://jabber.org/protocol/muc" })));
  await alice.waitFor((el) => el.is("presence") && el.attrs.from === `${room}/alice`, 10_000, "alice in the room");
  await alice.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("x", { xmlns: "jabber:x:data", type: "submit" }))));
  await assert.rejects(carol.iq(xml("iq", { type: "set", to: room }, xml("query", { xmlns: "http://jabber.org/protocol/muc#owner" }, xml("destroy")))), /forbidden/);
});
