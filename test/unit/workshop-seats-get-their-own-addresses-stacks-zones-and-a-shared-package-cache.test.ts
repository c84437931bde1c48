// `podkit lab up --seats N`, the parts that need no lab: which seats a number gives, where
// they live on the lab subnet, the stack file each seat gets (a stack the loader accepts),
// the zones the lab DNS serves for them, the firewall that lets them reach the package
// cache, and how the cache's log tells a package served from the cache.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { aptCacheConf, aptProxyConf, packagesFromCache, parseCacheLog } from "../../lib/lab/apt-cache";
import { LAB, LAB_HOSTS, SEATS, labHosts, labPods, parseSeats, seatHost, seatNumber } from "../../lib/lab/config";
import { labZone, reverseZone } from "../../lib/lab/dns";
import { nftRules, overlaps } from "../../lib/lab/network";
import { labProvider } from "../../lib/lab/provider";
import { seatStackText, writeSeatStacks } from "../../lib/lab/seats";
import type { LabState } from "../../lib/lab/state";
import { zoneFilesForStackFile } from "../../lib/dns/stack-zones";
import { parseStack } from "../../lib/stack/load";
import { UsageError } from "../../lib/cli/exit";
import { run } from "../../lib/cli/commands/lab";
import { RECORDED_LAB } from "./host-profiles";

/** The recorded lab with `n` seats, as `up --seats n` records it. */
function labWithSeats(n: number): LabState {
  const state: LabState = JSON.parse(JSON.stringify(RECORDED_LAB));
  state.seats = n;
  for (const h of labHosts(n).filter((x) => x.name.startsWith("seat"))) {
    state.hosts[h.name] = { ...state.hosts.a, address: h.address, fqdn: `${h.name}.lab.test`, release: h.release };
  }
  return state;
}

test("--seats takes 1 to 8 and says so for anything else", () => {
  assert.equal(parseSeats("1"), 1);
  assert.equal(parseSeats("8"), 8);
  for (const bad of ["0", "9", "-1", "2.5", "three", "", "3x"]) {
    assert.equal(parseSeats(bad), `--seats takes a number of seats from 1 to ${SEATS.max}, not "${bad}"`);
  }
});

test("podkit lab up --seats 9, or --seats on another command, is a usage error before anything is touched", async () => {
  await assert.rejects(run(["up", "--seats", "9"]), (e: Error) => e instanceof UsageError && /--seats takes a number of seats from 1 to 8, not "9"/.test(e.message));
  await assert.rejects(run(["status", "--seats", "2"]), (e: Error) => e instanceof UsageError && /--seats goes with up only/.test(e.message));
});

test("seat K is host seatK at 10.77.0.(20+K), Debian 13, clear of the fixed hosts and of the client addresses tests use", () => {
  assert.deepEqual(seatHost(1), { name: "seat1", address: "10.77.0.21", role: "pod seat1.test", release: "trixie" });
  assert.equal(seatHost(8).address, "10.77.0.28");
  const all = labHosts(SEATS.max);
  assert.equal(all.length, LAB_HOSTS.length + SEATS.max);
  assert.equal(new Set(all.map((h) => h.address)).size, all.length, "two lab hosts share an address");
  assert.equal(new Set(all.map((h) => h.name)).size, all.length, "two lab hosts share a name");
  for (const h of all) assert.ok(overlaps(h.address, 32, LAB.subnet.split("/")[0], LAB.prefixLength), `${h.address} is outside ${LAB.subnet}`);
  // Addresses lab tests put on the bridge as outside clients (31, 36, 41, 99) and the gateway.
  for (const taken of [LAB.gateway, "10.77.0.91", "10.77.0.92", "10.77.0.93", "10.77.0.96", "10.77.0.97", "10.77.0.98", "10.77.0.99", "10.77.0.200", "10.77.0.250"]) {
    assert.ok(!all.some((h) => h.address === taken), `a seat takes ${taken}`);
  }
  assert.deepEqual(labHosts(0), [...LAB_HOSTS], "no seats: the lab of today");
  assert.deepEqual(labPods(2).map((p) => [p.zone, p.stack, p.host]).slice(2), [["seat1.test", "stacks/seats/seat1.yaml", "seat1"], ["seat2.test", "stacks/seats/seat2.yaml", "seat2"]]);
  assert.equal(seatNumber("seat3"), 3);
  assert.equal(seatNumber("seat9"), undefined);
  assert.equal(seatNumber("a"), undefined);
});

test("every seat's stack file is a stack the loader accepts, naming its own pod, host, domain and backup repository", () => {
  for (let k = 1; k <= SEATS.max; k++) {
    const text = seatStackText(k);
    const loaded = parseStack(text, `stacks/seats/seat${k}.yaml`);
    assert.ok(loaded.ok, `seat ${k}: ${!loaded.ok && loaded.problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`).join("\n")}`);
    const { stack } = loaded;
    assert.equal(stack.pod, `seat${k}`);
    assert.deepEqual(stack.domains, [`seat${k}.test`]);
    assert.equal(stack.hosts.mx.lab?.name, `seat${k}`);
    assert.equal(stack.backup?.target.rest?.url, `https://backup.lab.test:8000/seat${k}`);
    assert.equal(stack.backup?.target.rest?.prune?.url, `https://10.77.0.13:8001/seat${k}`);
    assert.deepEqual(Object.keys(stack.accounts), [`ada@seat${k}.test`, `lin@seat${k}.test`]);
    assert.doesNotMatch(text, /\{\{/, "a placeholder is left in the stack");
  }
});

test("a seat's stack is written once: a participant's edit survives the next up", () => {
  const root = mkdtempSync(join(tmpdir(), "podkit-seats-"));
  try {
    const files = writeSeatStacks(2, root);
    assert.deepEqual(files, [join(root, "stacks/seats/seat1.yaml"), join(root, "stacks/seats/seat2.yaml")]);
    const edited = readFileSync(files[0], "utf8").replace("aliases: [postmaster, abuse]", "aliases: [postmaster, abuse, hello]");
    writeFileSync(files[0], edited);
    const lines: string[] = [];
    writeSeatStacks(3, root, (l) => lines.push(l));
    assert.equal(readFileSync(files[0], "utf8"), edited);
    assert.ok(existsSync(join(root, "stacks/seats/seat3.yaml")));
    assert.match(lines.join("\n"), /wrote seat3\.yaml in /);
    assert.doesNotMatch(lines.join("\n"), /seat1\.yaml/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the lab DNS serves each seat's zone as podkit zone prints it, its lab name, and its PTR to its MX", async () => {
  const state = labWithSeats(3);
  const dir = mkdtempSync(join(tmpdir(), "podkit-seat-zone-"));
  try {
    mkdirSync(join(dir, "stacks", "seats"), { recursive: true });
    const file = join(dir, "stacks", "seats", "seat3.yaml");
    writeFileSync(file, seatStackText(3));
    const zones = await zoneFilesForStackFile(file, { providers: { lab: labProvider(state) }, serial: 1, generateAll: true, log: () => {} });
    const seat = zones.find((z) => z.zone === "seat3.test");
    assert.ok(seat, `no zone seat3.test in ${zones.map((z) => z.zone)}`);
    assert.match(seat.text, /^seat3\.test\.\s+\d+\s+IN\s+MX\s+10\s+mx\.seat3\.test\.$/m);
    assert.match(seat.text, /^mx\.seat3\.test\.\s+\d+\s+IN\s+A\s+10\.77\.0\.23$/m);
    assert.match(seat.text, /^pod\._domainkey\.seat3\.test\.\s+\d+\s+IN\s+TXT\s+"v=DKIM1/m);
    assert.match(seat.text, /^_xmpp-server\._tcp\.seat3\.test\.\s+\d+\s+IN\s+SRV\s+0 5 5269 mx\.seat3\.test\.$/m);
    // Every secret the stack names got a random value beside it, as for the lab pods.
    const secrets = readFileSync(join(dir, "stacks", "seats", "seat3.secrets.yaml"), "utf8");
    for (const s of ["ada-password", "lin-password", "backup-passphrase", "backup-rest-password", "dkim-key"]) assert.match(secrets, new RegExp(`^${s}:`, "m"));

    assert.match(labZone(1, 3).text, /^seat3 IN A 10\.77\.0\.23$/m);
    assert.doesNotMatch(labZone(1).text, /seat/, "without seats the lab zone is today's");
    const reverse = reverseZone([seat], 1, 3).text;
    assert.match(reverse, /^23 IN PTR mx\.seat3\.test\.$/m);
    assert.match(reverse, /^21 IN PTR seat1\.lab\.test\.$/m, "a seat whose zone is missing keeps its lab name");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a stack naming a seat the lab does not have says how to add it", () => {
  const state = labWithSeats(2);
  const stack = parseStack(seatStackText(5), "stacks/seats/seat5.yaml");
  assert.ok(stack.ok);
  const where = labProvider(state).locate(stack.stack, "mx");
  assert.deepEqual(where, { problem: "the lab has no seat 5 (it has 2): add it with `npx podkit lab up --seats 5`" });
  assert.deepEqual(labProvider(state).locate(parseStackOk(seatStackText(2)), "mx"), { addresses: { ipv4: "10.77.0.22" } });
});

function parseStackOk(text: string) {
  const r = parseStack(text, "x.yaml");
  assert.ok(r.ok);
  return r.stack;
}

test("the lab firewall lets every host, seats included, reach the package cache and the mirror's ports, and nothing else out", () => {
  const rules = nftRules();
  assert.match(rules, new RegExp(`ip daddr ${LAB.gateway} tcp dport \\{ 53, ${LAB.acmePort}, ${LAB.aptCachePort} \\} accept`));
  const out = rules.match(/ip saddr \{ ([^}]+) \} tcp dport \{ 80, 443 \} accept/)?.[1] ?? "";
  for (const h of labHosts(SEATS.max)) assert.ok(out.split(", ").includes(h.address), `${h.name} (${h.address}) may not go out`);
});

test("lab hosts' apt uses the cache on the gateway, and the cache fetches from the lab's mirrors only, on the bridge only", () => {
  assert.equal(aptProxyConf().split("\n").filter((l) => !l.startsWith("//")).join("\n").trim(), `Acquire::http::Proxy "http://${LAB.gateway}:${LAB.aptCachePort}/";`);
  const conf = aptCacheConf();
  assert.match(conf, new RegExp(`^BindAddress: ${LAB.gateway.replace(/\./g, "\\.")}$`, "m"));
  assert.match(conf, /^CacheDir: \/var\/lib\/podkit\/lab\/apt-cache$/m);
  assert.match(conf, /^Remap-debrep: .* ; http:\/\/deb\.debian\.org\/debian\/$/m);
  assert.match(conf, /^Remap-secdeb: .* ; http:\/\/deb\.debian\.org\/debian-security\/$/m);
});

test("the cache's log tells a package fetched once for every seat from one fetched again", () => {
  // Lines as apt-cacher-ng 3.7 writes them (recorded here: three clients asking for one file at once).
  const log = [
    "1796226664|I|1510574|10.77.0.21|debrep/pool/main/p/postfix/postfix_3.7.11-0+deb12u1_amd64.deb",
    "1796226664|O|1510421|10.77.0.21|debrep/pool/main/p/postfix/postfix_3.7.11-0+deb12u1_amd64.deb",
    "1796226664|O|1510421|10.77.0.22|debrep/pool/main/p/postfix/postfix_3.7.11-0+deb12u1_amd64.deb",
    "1796226665|I|34980|10.77.0.22|secdeb/dists/bookworm-security/InRelease",
    "1796226665|O|35005|10.77.0.22|secdeb/dists/bookworm-security/InRelease",
    "1796226616|E|628|10.77.0.22|debrep/pool/main/s/swaks/swaks_20201014.0-2_all.deb [HTTP error, code: 503]",
  ].join("\n");
  const lines = parseCacheLog(log);
  assert.equal(lines.length, 5, "error lines are neither fetched nor delivered");
  assert.deepEqual(packagesFromCache(lines, "10.77.0.22"), { delivered: 1, fetchedTwice: [] });
  const twice = parseCacheLog(`${log}\n1796226666|I|1510574|10.77.0.22|debrep/pool/main/p/postfix/postfix_3.7.11-0+deb12u1_amd64.deb`);
  assert.deepEqual(packagesFromCache(twice, "10.77.0.22").fetchedTwice, ["debrep/pool/main/p/postfix/postfix_3.7.11-0+deb12u1_amd64.deb"]);
  assert.deepEqual(packagesFromCache(lines, "10.77.0.23"), { delivered: 0, fetchedTwice: [] });
});
