// coturn on a pod relays calls between members and the world, and nowhere a
// relay could reach what it should not: not the host itself (its own address,
// through which Postfix would see mail from itself), not loopback, not the
// cloud metadata address; only UDP relays. A peer on the lab's own network
// (the other pod) is still allowed: that is where the lab's calls go.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { ensurePods, type Pods } from "./pods";
import { allocateTcpRelay, ATTR, withAllocation } from "./stun";
import { login, xmlLib, type Session } from "./xmppclients";

let pods: Pods;
let alice: Session;
let turn: { host: string; port: string; username: string; password: string };

before(async () => {
  pods = await ensurePods();
  alice = await login(pods, pods.a, "alice", pods.a.password("alice-password"));
  const { xml } = xmlLib();
  const r = await alice.iq(xml("iq", { type: "get", to: "a.test" }, xml("services", { xmlns: "urn:xmpp:extdisco:2" })));
  const services = r.getChild("services", "urn:xmpp:extdisco:2")!.getChildren("service").map((s) => s.attrs);
  const found = services.find((s) => s.type === "turn" && (s.transport ?? "udp") === "udp");
  assert.ok(found?.username && found.password, "a TURN service with credentials");
  turn = found as typeof turn;
});
after(async () => {
  await alice?.stop();
});

const reason = (r: { error?: number; attrs: Map<number, Buffer> }) => `${r.error ?? "success"} ${r.attrs.get(ATTR.ERROR_CODE)?.subarray(4).toString() ?? ""}`;

test("a relay may not be pointed at the host's own address, loopback or the metadata service: 403", async () => {
  await withAllocation(pods.a.ip, Number(turn.port), turn.username, turn.password, async (a) => {
    assert.equal(a.reply.cls, "success", `allocate: ${reason(a.reply)}`);
    for (const peer of [pods.a.ip, "127.0.0.1", "169.254.169.254", "192.168.1.1", "100.64.0.1"]) {
      const r = await a.createPermission(peer);
      assert.equal(r.error, 403, `a permission to ${peer} is refused with 403, got ${reason(r)}`);
    }
    // The lab's own network, where the other pod is: allowed (the lab's calls go there).
    const ok = await a.createPermission(pods.b.ip);
    assert.equal(ok.cls, "success", `a permission to the other pod ${pods.b.ip}: ${reason(ok)}`);
  });
});

test("a TCP relay (RFC 6062) is refused: the stack did not ask for one", async () => {
  const r = await allocateTcpRelay(pods.a.ip, Number(turn.port), turn.username, turn.password);
  assert.equal(r.cls, "error", `a TCP allocation is refused, got ${reason(r)}`);
  assert.ok(r.error === 442 || r.error === 403, `442 Unsupported Transport Protocol (or 403), got ${reason(r)}`);
});
