// Issue 16, the hackspace edge: `podkit lab up --edge` adds pod hs.test on lab host "box",
// behind NAT (the hackspace's line: it reaches out, nothing reaches in), public through
// lab host "edge" (a small VPS). b.test mails and chats with it through the edge; the box's
// daemons see b's own address; while the box is off the edge queues its mail and delivers
// it, once, when the box is back; the tunnel's keys outlive a rebuild of either side; and a
// second apply of the two hosts changes nothing.
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { authenticate } from "mailauth";
import { bootHost, stopHost } from "../../lib/lab/host";
import { readLabState, type LabState } from "../../lib/lab/state";
import { SecretStore } from "../../lib/stack/secrets";
import { onHost, podkit, REPO } from "./helpers";
import { fetchBySubject, imapClient, submit, token } from "./mailclients";
import { apply, ensurePods, type LabPod, type Pods } from "./pods";
import { allocate, ATTR, xorAddress } from "./stun";
import { upload, podRequest } from "./uploads";
import { chatBody, sessionPool, xmlLib } from "./xmppclients";

const STACK = "stacks/lab-edge.yaml";
let pods: Pods;
let lab: LabState;
let hs: LabPod;
const pool = sessionPool();
after(pool.stopAll);

before(async () => {
  pods = await ensurePods(["b"]);
  const up = await podkit("lab", "up", "--edge");
  assert.equal(up.code, 0, `podkit lab up --edge failed:\n${up.stderr}\n${up.stdout}`);
  lab = readLabState()!;
  const first = await apply(STACK);
  assert.ok(!first.report.exitCode, `podkit apply ${STACK} failed:\n${first.stderr}`);
  const secrets = new SecretStore(path.join(REPO, "stacks/lab-edge.secrets.yaml"));
  // Clients reach hs.test where its names point: the edge's address.
  hs = {
    stack: STACK, domain: "hs.test", ip: lab.hosts.edge.address, mx: "box.hs.test",
    password: (s) => secrets.get(s) ?? assert.fail(`no secret ${s}`),
  };
});

const bQ = () => pods.b;
const onBox = (cmd: string) => onHost(lab, "box", cmd);
const onEdge = (cmd: string) => onHost(lab, "edge", cmd);

test("b cannot reach the box: no route to its own address or its tunnel address, only to the edge", async () => {
  const box = lab.hosts.box.address;
  const tryPort = (addr: string, port: number) => onHost(pods.lab, "b", `timeout 4 bash -c 'exec 3<>/dev/tcp/${addr}/${port}' && echo open || echo closed`);
  for (const [addr, port] of [[box, 25], [box, 22], ["10.201.0.2", 25]] as const) {
    assert.equal((await tryPort(addr, port)).stdout.trim(), "closed", `b reaches ${addr}:${port}`);
  }
  const route = await onHost(pods.lab, "b", `ip route get 10.201.0.2`);
  assert.doesNotMatch(route.stdout, /wg-podkit/, "b has no tunnel");
  assert.equal((await tryPort(hs.ip, 25)).stdout.trim(), "open", "the edge answers on 25");
  // The names b looks up point at the edge, never at the box.
  const names = await onHost(pods.lab, "b", "getent ahostsv4 box.hs.test hs.test upload.hs.test | awk '{print $1}' | sort -u");
  assert.deepEqual(names.stdout.trim().split("\n"), [hs.ip]);
});

test("mail from b to hs.test arrives through the edge, and the box's Postfix logs b's own address", { timeout: 180_000 }, async (t) => {
  const subject = token("b-to-hs");
  await submit(pods, bQ(), "bob@b.test", bQ().password("bob-password"), { to: "dana@hs.test", subject, text: "Hello from b.test" });
  const raw = (await fetchBySubject(pods, hs, "dana@hs.test", hs.password("dana-password"), subject, 120_000)).toString();
  assert.match(raw, /^Authentication-Results: box\.hs\.test;[\s\S]*?dkim=pass[^\n]*header\.d=b\.test/m, "the box verified b's signature");
  // The edge passed the client's identity on (XFORWARD): the box's smtpd logs b as the
  // message's client (orig_client) beside the tunnel connection it came over.
  const log = await onBox(`journalctl --no-pager -o cat -t postfix/smtpd | grep -E 'orig_client=mx\\.b\\.test\\[10\\.77\\.0\\.12\\]' | tail -3`);
  t.diagnostic(`box postfix: ${log.stdout.trim().split("\n").at(-1)}`);
  assert.match(log.stdout, /orig_client=mx\.b\.test\[10\.77\.0\.12\]/);
  // SPF at the box judged b's address too (an SPF pass for b.test needs b's own address).
  assert.match(raw, /spf=pass[^;]*smtp\.mailfrom=b\.test|spf=pass[^;]*smtp\.mailfrom=bob@b\.test/, "SPF passed for b.test at the box");
});

test("mail from hs.test to b leaves from the edge: DKIM, SPF and DMARC pass at b", { timeout: 180_000 }, async (t) => {
  const subject = token("hs-to-b");
  await submit(pods, hs, "dana@hs.test", hs.password("dana-password"), { to: "bob@b.test", subject, text: "Hello from the hackspace" });
  const raw = await fetchBySubject(pods, bQ(), "bob@b.test", bQ().password("bob-password"), subject, 120_000);
  const text = raw.toString();
  const results = text.split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/).filter((l) => /^authentication-results: mx\.b\.test;/i.test(l)).join("\n");
  t.diagnostic(results);
  assert.match(results, /\bdkim=pass\b[^;]*header\.d=hs\.test/, results);
  assert.match(results, /\bspf=pass\b/, results);
  assert.match(results, /\bdmarc=pass\b/, results);
  // As any receiver would judge it, from the address it came from: the edge's.
  const auth = await authenticate(raw, {
    ip: hs.ip, helo: "box.hs.test", sender: "dana@hs.test", mta: "mx.b.test",
    resolver: (name: string, rr: string) => pods.resolver.resolve(name, rr as "TXT") as Promise<any>,
  });
  assert.equal(auth.dmarc.status.result, "pass");
  // From the edge's address, whose reverse name is the MX name the edge says HELO with.
  assert.match(text, /^Received: from box\.hs\.test \(box\.hs\.test \[10\.77\.0\.14\]\)/m, "b received it from the edge's address");
});

test("chat both ways between b and hs.test through the edge; the box's Prosody sees b's address", { timeout: 120_000 }, async (t) => {
  const { xml } = xmlLib();
  const dana = await pool.login(pods, hs, "dana", hs.password("dana-password"));
  const bob = await pool.login(pods, bQ(), "bob", bQ().password("bob-password"));
  const hello = token("hs-hello");
  await dana.xmpp.send(xml("message", { to: "bob@b.test", type: "chat" }, xml("body", {}, hello)));
  await bob.waitFor((el) => el.is("message") && chatBody(el) === hello, 30_000, "dana's message");
  const reply = token("b-reply");
  await bob.xmpp.send(xml("message", { to: "dana@hs.test", type: "chat" }, xml("body", {}, reply)));
  await dana.waitFor((el) => el.is("message") && chatBody(el) === reply, 30_000, "bob's reply");
  // b's server connected to hs.test at the edge and reached the box's Prosody with its own address.
  const s2s = await onBox(`prosodyctl shell "s2s:show(nil, 'id dir remote ip')" 2>&1 || true`);
  t.diagnostic(s2s.stdout.split("\n").filter((l) => /b\.test/.test(l)).join(" | "));
  assert.match(s2s.stdout, /<--.*b\.test.*10\.77\.0\.12|10\.77\.0\.12.*b\.test/, `an incoming link from b.test at 10.77.0.12:\n${s2s.stdout}`);
});

test("a file uploaded on hs.test is fetched by b's member, and the edge's coturn allocates a relay at the edge's address", { timeout: 120_000 }, async (t) => {
  const dana = await pool.login(pods, hs, "dana", hs.password("dana-password"), { resource: "upload" });
  const file = Buffer.from(`a file from the hackspace ${token("upload")}`);
  const up = await upload(pods, hs, dana, file, "notes.txt", "text/plain");
  assert.ok(up.putStatus === 201 || up.putStatus === 200, `PUT answered ${up.putStatus}`);
  const got = await podRequest(pods, hs, "GET", up.getUrl);
  assert.equal(got.status, 200);
  assert.ok(got.body.equals(file), "the file came back as uploaded");

  const { xml } = xmlLib();
  const r = await dana.iq(xml("iq", { type: "get", to: "hs.test" }, xml("services", { xmlns: "urn:xmpp:extdisco:2" })));
  const turn = r.getChild("services", "urn:xmpp:extdisco:2")!.getChildren("service").map((s) => s.attrs).find((s) => s.type === "turn" && (s.transport ?? "udp") === "udp");
  assert.ok(turn?.username && turn.password, "a TURN service with credentials");
  t.diagnostic(`TURN service ${turn.host}:${turn.port}`);
  const alloc = await allocate(hs.ip, Number(turn.port), turn.username, turn.password);
  assert.equal(alloc.cls, "success", `allocate refused: ${alloc.error}`);
  const relayed = xorAddress(alloc.attrs.get(ATTR.XOR_RELAYED_ADDRESS)!);
  t.diagnostic(`relay allocated at ${relayed}`);
  assert.match(relayed, new RegExp(`^${hs.ip.replace(/\./g, "\\.")}:\\d+$`), "the relay is at the edge's public address");
});

test("box off: b's mail waits in the edge's queue, not bounced; box on: it arrives exactly once", { timeout: 420_000 }, async (t) => {
  const subject = token("while-box-off");
  await stopHost("box");
  try {
    await submit(pods, bQ(), "bob@b.test", bQ().password("bob-password"), { to: "dana@hs.test", subject, text: "Sent while the box was off" });
    // The edge accepted it from b and holds it for the box.
    const deadline = Date.now() + 120_000;
    let queue = "";
    while (Date.now() < deadline) {
      queue = (await onEdge("postqueue -j")).stdout;
      if (queue.includes("dana@hs.test")) break;
      await new Promise((r) => setTimeout(r, 2000));
    }
    t.diagnostic(`edge queue: ${queue.trim().split("\n").map((l) => JSON.parse(l)).map((m: any) => `${m.queue_name} ${m.recipients.map((x: any) => `${x.address} (${x.delay_reason ?? "waiting"})`).join(",")}`).join(" | ")}`);
    assert.match(queue, /dana@hs\.test/, "the edge queues the mail for the box");
    // b handed it over: nothing bounced back to bob, nothing left in b's queue.
    assert.doesNotMatch((await onHost(pods.lab, "b", "postqueue -p")).stdout, /dana@hs\.test/);
  } finally {
    bootHost("box");
  }
  // The box comes back, dials the tunnel; the edge's next queue run delivers (flushed here, not waited for).
  const started = Date.now();
  for (;;) {
    const up = await onBox("systemctl is-active postfix wg-quick@wg-podkit").catch(() => ({ stdout: "" }));
    if (/^(active\n?){2}$/.test(up.stdout.trim() + "\n")) break;
    if (Date.now() - started > 120_000) assert.fail("the box did not come back within 2 minutes");
    await new Promise((r) => setTimeout(r, 2000));
  }
  await onEdge("postqueue -f");
  await fetchBySubject(pods, hs, "dana@hs.test", hs.password("dana-password"), subject, 180_000);
  // Nothing of it left in either queue (the edge's or the box's): no second copy is on its way.
  for (const deadline = Date.now() + 60_000; ;) {
    const queued = (await onEdge("postqueue -j")).stdout + (await onBox("postqueue -j")).stdout;
    if (!queued.includes("dana@hs.test")) break;
    if (Date.now() > deadline) assert.fail(`still queued after delivery:\n${queued}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  const client = await imapClient(pods, hs, "dana@hs.test", hs.password("dana-password"));
  try {
    const lock = await client.getMailboxLock("INBOX");
    try {
      const uids = (await client.search({ subject }, { uid: true })) || [];
      assert.equal(uids.length, 1, `${uids.length} copies arrived`);
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
});

test("the tunnel's keys outlive a rebuild of the edge and of the box: same keys, the tunnel up again, mail through it", { timeout: 600_000 }, async (t) => {
  const keyOf = async (host: string, run: (c: string) => ReturnType<typeof onBox>) => (await run("wg show wg-podkit public-key")).stdout.trim();
  const before = { edge: await keyOf("edge", onEdge), box: await keyOf("box", onBox) };
  assert.match(before.edge, /^[A-Za-z0-9+/]{43}=$/);
  for (const host of ["edge", "box"] as const) {
    const re = await podkit("lab", "recreate", host);
    assert.equal(re.code, 0, `lab recreate ${host}: ${re.stderr}\n${re.stdout}`);
    lab = readLabState()!;
    const started = Date.now();
    const applied = await apply(STACK);
    assert.ok(!applied.report.exitCode, `apply after rebuilding ${host} failed:\n${applied.stderr}`);
    t.diagnostic(`${host} rebuilt and applied again in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  assert.deepEqual({ edge: await keyOf("edge", onEdge), box: await keyOf("box", onBox) }, before, "the same keys on both sides");
  const handshake = await onEdge("wg show wg-podkit latest-handshakes");
  assert.match(handshake.stdout, /\s[1-9]\d+\s*$/m, `a handshake after the rebuilds: ${handshake.stdout}`);
  const subject = token("after-rebuild");
  await submit(pods, bQ(), "bob@b.test", bQ().password("bob-password"), { to: "erin@hs.test", subject, text: "after the rebuild" });
  await fetchBySubject(pods, hs, "erin@hs.test", hs.password("erin-password"), subject, 180_000);
});

test("a second apply of the edge and the box changes nothing; its time for two hosts", { timeout: 120_000 }, async (t) => {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const again = await apply(STACK);
    assert.ok(!again.report.exitCode, again.stderr);
    assert.equal(again.changes, 0, `apply changed ${again.changes} thing(s):\n${again.stderr}`);
    times.push(again.seconds);
  }
  const median = [...times].sort((a, b) => a - b)[1];
  t.diagnostic(`no-op apply of ${STACK} (edge + box, the box through the edge): median ${median.toFixed(2)} s of ${times.map((s) => s.toFixed(2)).join(", ")}`);
});
