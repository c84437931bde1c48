// `podkit check` of a pod whose mail host sits behind an edge: the box's LAN
// address is never looked up; the edge's addresses must name the mail host
// (it sends the pod's mail), and that is a failure when they do not.
import assert from "node:assert/strict";
import type { Resolver } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { identityChecks, judgePtr } from "../../lib/check/identity";
import { reachJobs } from "../../lib/check/reach";
import { publicAddresses } from "../../lib/dns/public-addresses";
import { parseStack } from "../../lib/stack/load";

const parsed = parseStack(readFileSync("stacks/hackspace-edge.yaml", "utf8"), "stacks/hackspace-edge.yaml");
assert.ok(parsed.ok);
const stack = parsed.stack;
const KNOWN = { gw: { ipv4: "198.51.100.7" }, box: { ipv4: "192.168.10.25" } };

test("the edge of the mail host is judged by whether its address names the mail host", () => {
  assert.equal(judgePtr(stack, "gw", "198.51.100.7", ["box.hackspace.example"], true).status, "ok");
  const own = judgePtr(stack, "gw", "198.51.100.7", ["gw.hackspace.example"], true);
  assert.equal(own.status, "fail", "the edge sends the pod's mail");
  assert.match(own.summary, /is gw\.hackspace\.example, not box\.hackspace\.example/);
});

test("only the edge's address is asked for its reverse name, never the box's LAN address", async () => {
  const asked: string[] = [];
  const recursive = {
    reverse: async (a: string) => { asked.push(a); return ["box.hackspace.example"]; },
    resolve4: async () => ["198.51.100.7"],
    resolve: async () => ["198.51.100.7"],
  } as unknown as Resolver;
  const results = await identityChecks({ stack, hosts: ["gw", "box"], addresses: publicAddresses(stack, KNOWN), recursive });
  assert.deepEqual(asked, ["198.51.100.7"]);
  assert.deepEqual(results.map((r) => r.id), ["identity/ptr/gw/198.51.100.7"]);
});

test("the box's ports are probed at the edge's address, where they are forwarded", () => {
  const jobs = reachJobs({ stack, hosts: ["gw", "box"], addresses: publicAddresses(stack, KNOWN) });
  assert.ok(jobs.length > 0);
  assert.doesNotMatch(JSON.stringify(jobs), /192\.168\.10\.25/);
});
