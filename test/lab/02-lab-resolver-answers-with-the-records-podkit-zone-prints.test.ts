// Must show 2: from the outer machine, the lab resolver answers `MX a.test` and
// `SRV _xmpp-server._tcp.b.test` (and every other record) with what `podkit zone` prints
// for the lab stacks: the lab serves the production DNS plan, not a copy of it.
import assert from "node:assert/strict";
import { Resolver } from "node:dns/promises";
import { before, test } from "node:test";
import { LAB_PODS } from "../../lib/lab/config";
import { removeLabRecord, setLabRecord } from "../../lib/lab/dns";
import type { LabState } from "../../lib/lab/state";
import { ensureLab, podkit } from "./helpers";

interface Rec {
  name: string;
  type: string;
  rdata: string;
}

/** Records of a zone file as `podkit zone` writes it: absolute names, `name ttl IN type rdata`. */
function parseZone(text: string): Rec[] {
  const out: Rec[] = [];
  for (const line of text.split("\n")) {
    const m = line.match(/^(\S+)\s+\d+\s+IN\s+(\S+)\s+(.*)$/);
    if (m && m[1] !== "@") out.push({ name: m[1].replace(/\.$/, ""), type: m[2], rdata: m[3].trim() });
  }
  return out;
}

/** The answer a resolver gives, in the zone file's rdata spelling, for comparison. */
async function ask(resolver: Resolver, name: string, type: string): Promise<string[]> {
  switch (type) {
    case "A":
      return resolver.resolve4(name);
    case "AAAA":
      return resolver.resolve6(name);
    case "MX":
      return (await resolver.resolveMx(name)).map((r) => `${r.priority} ${r.exchange}.`);
    case "SRV":
      return (await resolver.resolveSrv(name)).map((r) => `${r.priority} ${r.weight} ${r.port} ${r.name}.`);
    case "TXT":
      return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(""));
    case "CNAME":
      return (await resolver.resolveCname(name)).map((n) => `${n}.`);
    default:
      throw new Error(`test does not compare ${type} records`);
  }
}

/** TXT rdata in a zone file is one or more quoted strings; a resolver returns them joined. */
function normalise(type: string, rdata: string): string {
  if (type !== "TXT") return rdata;
  return [...rdata.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, "$1")).join("");
}

let state: LabState;
let printed: Rec[];
let resolver: Resolver;

before(async () => {
  state = await ensureLab();
  printed = [];
  for (const pod of LAB_PODS) {
    const r = await podkit("zone", pod.stack);
    assert.equal(r.code, 0, `podkit zone ${pod.stack} failed:\n${r.stderr}`);
    printed.push(...parseZone(r.stdout));
  }
  resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([state.resolver]);
});

async function assertServed(name: string, type: string): Promise<void> {
  const expected = printed.filter((r) => r.name === name && r.type === type).map((r) => normalise(type, r.rdata)).sort();
  assert.ok(expected.length, `podkit zone prints no ${type} record for ${name}`);
  assert.deepEqual((await ask(resolver, name, type)).sort(), expected, `${type} ${name} from the lab resolver ${state.resolver}`);
}

test("the lab resolver answers MX a.test with the record podkit zone prints", () => assertServed("a.test", "MX"));

test("the lab resolver answers SRV _xmpp-server._tcp.b.test with the record podkit zone prints", () => assertServed("_xmpp-server._tcp.b.test", "SRV"));

test("every A, MX, SRV and TXT record podkit zone prints for the lab stacks is served as printed", async () => {
  const keys = [...new Set(printed.filter((r) => ["A", "AAAA", "MX", "SRV", "TXT", "CNAME"].includes(r.type)).map((r) => `${r.type} ${r.name}`))];
  assert.ok(keys.length > 10, `only ${keys.length} records printed`);
  for (const key of keys) {
    const [type, name] = key.split(" ");
    await assertServed(name, type);
  }
});

test("the lab resolver names the lab hosts and forwards other names to the outer resolver", async () => {
  for (const [name, h] of Object.entries(state.hosts)) assert.deepEqual(await resolver.resolve4(`${name}.lab.test`), [h.address]);
  const mirror = await resolver.resolve4("deb.debian.org");
  assert.ok(mirror.length > 0, "deb.debian.org does not resolve through the lab resolver");
});

test("a record set at runtime (as for ACME dns-01) is answered at once, and is gone once removed", async () => {
  const owner = "_acme-challenge.mx.a.test";
  const token = `podkit-lab-test-${Date.now()}`;
  await assert.rejects(resolver.resolveTxt(owner), /ENOTFOUND|ENODATA/);
  await setLabRecord("a.test", owner, "TXT", `"${token}"`);
  try {
    assert.deepEqual(await resolver.resolveTxt(owner), [[token]]);
  } finally {
    await removeLabRecord("a.test", owner, "TXT");
  }
  await assert.rejects(resolver.resolveTxt(owner), /ENOTFOUND|ENODATA/);
});
