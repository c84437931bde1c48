// Issue 15, workshop seats: `podkit lab up --seats 3` on top of the running lab gives three
// more pods, seat1.test to seat3.test, each with its own stack and passwords in stacks/seats/.
// Every seat mails and chats the next one (the last seat the first) with real clients, as
// participants do with theirs; a seat mails a.test too; and the second seat's packages came
// through the lab's one package cache, each fetched from the mirror at most once.
// Three seats, not eight, to keep the suite's cost low (PODKIT_TEST_SEATS=8 runs it for a
// whole workshop room); the seats stay up (99 takes them down).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { APT_CACHE_LOG, packagesFromCache, parseCacheLog } from "../../lib/lab/apt-cache";
import { type LabState, readLabState } from "../../lib/lab/state";
import { ensureLab, onHost, podkit } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { ensurePods, type LabPod, type Pods, seatLabPod } from "./pods";
import { chatBody, sessionPool, xmlLib } from "./xmppclients";

const SEATS = Number(process.env.PODKIT_TEST_SEATS ?? 3);
assert.ok(Number.isInteger(SEATS) && SEATS >= 2 && SEATS <= 8, "PODKIT_TEST_SEATS: 2 to 8");
let lab: LabState;
let pods: Pods;
let seats: LabPod[];
const pool = sessionPool();
after(pool.stopAll);

before(async () => {
  await ensureLab();
  pods = await ensurePods(["a"]); // a seat mails a.test below
});

test(`podkit lab up --seats ${SEATS} on the running lab adds seat1..seat${SEATS}, applies their pods in one run, and status lists them`, { timeout: 1_200_000 }, async (t) => {
  const started = Date.now();
  const up = await podkit("lab", "up", "--seats", String(SEATS));
  t.diagnostic(`lab up --seats ${SEATS} (hosts and the pods' apply) took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(up.code, 0, `${up.stderr}\n${up.stdout}`);
  lab = readLabState()!;
  assert.ok((lab.seats ?? 0) >= SEATS, `the state records ${lab.seats} seats`);
  // One apply for the three stacks: its lines name each seat's pod.
  assert.match(up.stdout, /applying the seats' pods: npx podkit apply stacks\/seats\/seat1\.yaml stacks\/seats\/seat2\.yaml stacks\/seats\/seat3\.yaml/);
  assert.match(up.stdout, /^seats ready: pods seat1\.test, seat2\.test, seat3\.test/m);
  const status = await podkit("lab", "status");
  assert.equal(status.code, 0, status.stdout + status.stderr);
  for (let k = 1; k <= SEATS; k++) assert.match(status.stdout, new RegExp(`seat${k}\\s+10\\.77\\.0\\.${20 + k}\\s+Debian 13 \\(trixie\\)\\s+running, ssh ok`));
  // The fixed hosts are as they were.
  assert.match(status.stdout, /^ {2}a\s+10\.77\.0\.11\s/m);
  seats = Array.from({ length: SEATS }, (_, i) => seatLabPod(lab, i + 1));
  // Each seat's zone is in the lab DNS: a seat's host finds the next seat's MX.
  const r = await onHost(lab, "seat1", "getent hosts mx.seat2.test");
  assert.match(r.stdout, /^10\.77\.0\.22\s/);
});

test(`every seat mails the next seat (seat${SEATS} the first) over submission with its own password, and each arrives over IMAPS`, { timeout: 180_000 }, async () => {
  await Promise.all(seats.map(async (from, i) => {
    const to = seats[(i + 1) % seats.length];
    const subject = token(`${from.domain}-to-${to.domain}`);
    const sent = await submit(pods, from, `ada@${from.domain}`, from.password("ada-password"), { to: `ada@${to.domain}`, subject, text: `Hello from ${from.domain}` });
    assert.match(sent.response, /^250 /);
    const raw = (await fetchBySubject(pods, to, `ada@${to.domain}`, to.password("ada-password"), subject, 90_000)).toString();
    // The receiving seat verified the sending seat's DKIM signature (its Authentication-Results, as test 25 reads it).
    assert.match(raw, new RegExp(`^Authentication-Results: ${to.mx.replace(/\./g, "\\.")};[\\s\\S]*?dkim=pass[^\\n]*header\\.d=${from.domain.replace(/\./g, "\\.")}`, "m"), `${to.domain} did not pass ${from.domain}'s DKIM signature`);
  }));
});

test("a seat mails a.test, and the mail arrives", { timeout: 120_000 }, async () => {
  const subject = token("seat1-to-a");
  await submit(pods, seats[0], `ada@${seats[0].domain}`, seats[0].password("ada-password"), { to: "alice@a.test", subject, text: "Hello a.test" });
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject, 90_000);
});

test("every seat's chat account writes to the next seat's, and each message arrives", { timeout: 120_000 }, async () => {
  const { xml } = xmlLib();
  const sessions = await Promise.all(seats.map((s) => pool.login(pods, s, "ada", s.password("ada-password"))));
  await Promise.all(seats.map(async (from, i) => {
    const next = (i + 1) % seats.length;
    const body = token(`chat-${from.domain}`);
    await sessions[i].xmpp.send(xml("message", { to: `ada@${seats[next].domain}`, type: "chat" }, xml("body", {}, body)));
    const got = await sessions[next].waitFor((el) => el.is("message") && chatBody(el) === body, 30_000, `${from.domain}'s message`);
    assert.match(got.attrs.from, new RegExp(`^ada@${from.domain.replace(".", "\\.")}/`));
  }));
});

test("the second seat's packages came through the shared cache, each fetched from the mirror at most once for the whole lab", (t) => {
  const lines = parseCacheLog(readFileSync(APT_CACHE_LOG, "utf8"));
  const seat2 = lab.hosts.seat2.address;
  const { delivered, fetchedTwice } = packagesFromCache(lines, seat2);
  const fromMirror = lines.filter((l) => l.kind === "I" && l.file.endsWith(".deb"));
  const toClients = lines.filter((l) => l.kind === "O" && l.file.endsWith(".deb"));
  t.diagnostic(`cache: ${toClients.length} package files delivered to lab hosts, ${fromMirror.length} fetched from the mirror (${(fromMirror.reduce((n, l) => n + l.bytes, 0) / 1e6).toFixed(0)} MB); seat2 got ${delivered}`);
  assert.ok(delivered > 20, `seat2 got only ${delivered} package files through the cache: its apt did not use it`);
  assert.deepEqual(fetchedTwice, [], "package files seat2 got were fetched from the mirror more than once");
  assert.ok(toClients.length > fromMirror.length, "the cache served no package file twice");
});
