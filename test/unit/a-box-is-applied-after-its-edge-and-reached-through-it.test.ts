// A box behind an edge under `podkit apply`: its SSH target goes through the
// edge to the box's tunnel address, with its own address as the way in before
// the tunnel exists; the edge converges first, and a box whose edge failed is
// not touched.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runConverge, type ConvergeIO } from "../../lib/cli/converge-run";
import { EdgeFailed, edgesFirst } from "../../lib/converge/edge-order";
import { hostTarget } from "../../lib/converge/host-target";
import type { Session } from "../../lib/converge/ssh";
import { existingProvider } from "../../lib/infra/existing-provider";
import { labProvider } from "../../lib/lab/provider";
import type { LabState } from "../../lib/lab/state";
import { parseStack } from "../../lib/stack/load";
import type { Pod } from "../../lib/stack/pod";
import type { Stack } from "../../lib/stack/schema";
import type { HostTarget } from "../../lib/ssh/connect";
import { RECORDED_LAB, TEST_PROVIDERS } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const stackOf = (file: string, patch: (t: string) => string = (t) => t): Stack => {
  const r = parseStack(patch(readFileSync(join(ROOT, file), "utf8")), file);
  if (!r.ok) throw new Error(r.problems.map((p) => `${p.field}: ${p.message}`).join("\n"));
  return r.stack;
};
/** Just what hostTarget reads of a pod: the stack and each host's adapter. */
const podOf = (stack: Stack, hosts: Pod["hosts"]) => ({ stack, hosts }) as Pod;

/** stacks/hackspace.yaml with an existing edge `gw` in front of its box, which keeps its address on the LAN. */
const EDGE_PATCH = (t: string) => t
  .replace("hosts:\n  box:", "hosts:\n  gw:\n    existing:\n      address: 198.51.100.7\n      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY9\n  box:\n    edge: gw")
  .replace("      address: 203.0.113.25\n      address6: \"2001:db8:25::25\"\n", "      address: 192.168.10.25\n");

test("an existing box's target goes through its edge to its tunnel address on port 22, its LAN address the direct way in", () => {
  const stack = stackOf("stacks/hackspace.yaml", EDGE_PATCH);
  const t = hostTarget(podOf(stack, { gw: existingProvider, box: existingProvider }), "box", { identity: "/keys/podkit" }) as HostTarget;
  assert.deepEqual(t, {
    name: "box", address: "10.201.0.2", port: 22, user: "root", hostKey: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", privateKeyPath: "/keys/podkit",
    via: { name: "gw", address: "198.51.100.7", port: 22, user: "root", hostKey: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY9", privateKeyPath: "/keys/podkit" },
    // hackspace.yaml reaches the box's SSH at 192.0.2.25:2222 (a port forward on its router): still the way in before the tunnel.
    direct: { address: "192.0.2.25", port: 2222 },
  });
  // The edge itself is reached as any host.
  assert.equal((hostTarget(podOf(stack, { gw: existingProvider, box: existingProvider }), "gw", {}) as HostTarget).via, undefined);
});

test("a lab box is reached through the lab edge, and directly at its address on the NAT'd segment before the tunnel is up", () => {
  const lab: LabState = {
    ...RECORDED_LAB,
    hosts: {
      ...RECORDED_LAB.hosts,
      edge: { ...RECORDED_LAB.hosts.a, address: "10.77.0.14", fqdn: "edge.lab.test", hostKey: "ssh-ed25519 AAAAedge" },
      box: { ...RECORDED_LAB.hosts.a, address: "10.77.1.11", fqdn: "box.lab.test", hostKey: "ssh-ed25519 AAAAbox" },
    },
  };
  const provider = labProvider(lab);
  const stack = stackOf("stacks/lab-edge.yaml");
  const t = hostTarget(podOf(stack, { gw: provider, box: provider }), "box", {}) as HostTarget;
  assert.deepEqual([t.address, t.port, t.hostKey, t.direct, t.via?.name, t.via?.address, t.via?.hostKey],
    ["10.201.0.2", 22, "ssh-ed25519 AAAAbox", { address: "10.77.1.11", port: 22 }, "gw", "10.77.0.14", "ssh-ed25519 AAAAedge"]);
});

test("a box whose edge podkit cannot reach says so, naming the edge", () => {
  const stack = stackOf("stacks/hackspace-edge.yaml");
  const t = hostTarget(podOf(stack, { gw: TEST_PROVIDERS.hcloud!, box: existingProvider }), "box", {});
  assert.match(t as string, /^podkit reaches box through its edge gw, and cannot reach gw: this host is created and converged by `pulumi up`/);
});

test("edges first: a box starts when its edge has finished, unrelated hosts at once, and a box whose edge failed is blocked", async () => {
  const stack = stackOf("stacks/hackspace.yaml", (t) => EDGE_PATCH(t).replace("\ndns:", "  other:\n    existing:\n      address: 198.51.100.8\n      hostKey: SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY7\n\ndns:"));
  const run = async (edgeFails: boolean) => {
    const events: string[] = [];
    const outcomes = await Promise.all(edgesFirst(stack, ["box", "gw", "other"], {
      converge: async (host, blocked) => {
        events.push(`start ${host}${blocked ? " blocked" : ""}`);
        await new Promise((r) => setTimeout(r, host === "gw" ? 30 : 1));
        events.push(`end ${host}`);
        return { host, failed: blocked !== undefined || (host === "gw" && edgeFails), blocked };
      },
      failed: (o) => o.failed,
      waiting: (host, edge) => events.push(`${host} waits for ${edge}`),
    }));
    return { events, outcomes };
  };
  const ok = await run(false);
  assert.deepEqual(ok.outcomes.map((o) => o.host), ["box", "gw", "other"], "in the order asked");
  assert.deepEqual(ok.events.slice(0, 3), ["box waits for gw", "start gw", "start other"]);
  assert.ok(ok.events.indexOf("start box") > ok.events.indexOf("end gw"), ok.events.join(", "));
  assert.ok(ok.events.indexOf("end other") < ok.events.indexOf("end gw"), "an unrelated host does not wait");
  const failed = await run(true);
  assert.ok(failed.events.includes("start box blocked"));
  const blocked = failed.outcomes[0].blocked!;
  assert.ok(blocked instanceof EdgeFailed);
  assert.match(blocked.message, /^box: not converged, because its edge gw failed/);
  // --host box: the edge is not in this run, so the box does not wait.
  const alone: string[] = [];
  await Promise.all(edgesFirst(stack, ["box"], { converge: async (h, b) => alone.push(`${h}${b ? " blocked" : ""}`), failed: () => true }));
  assert.deepEqual(alone, ["box"]);
});

/** The pod of EDGE_PATCH in a directory of its own, with its secrets. */
function edgeStackFile(): string {
  const dir = mkdtempSync(join(tmpdir(), "podkit-edge-"));
  writeFileSync(join(dir, "hs.yaml"), EDGE_PATCH(readFileSync(join(ROOT, "stacks", "hackspace.yaml"), "utf8")));
  writeFileSync(join(dir, "hs.secrets.yaml"), "ada-password: a\ngrace-password: g\nrelay-password: r\n", { mode: 0o600 });
  return join(dir, "hs.yaml");
}

test("podkit apply: an edge that cannot be reached fails, and its box is not connected to but listed as not converged because of it", async () => {
  const opened: HostTarget[] = [];
  const out: string[] = [];
  const io: ConvergeIO = {
    out: { write: (t: string) => out.push(t), isTTY: false, columns: 120, rows: 30 },
    err: { write: (t: string) => out.push(t), isTTY: false, columns: 120, rows: 30 },
    open: async (target: HostTarget): Promise<Session> => {
      opened.push(target);
      throw new Error(`${target.name} (${target.address}:${target.port}): cannot connect over SSH: connect ECONNREFUSED`);
    },
    env: {},
  };
  const code = await runConverge([edgeStackFile()], "", false, TEST_PROVIDERS, io);
  const text = out.join("");
  assert.equal(code, 69, text);
  assert.deepEqual(opened.map((t) => t.name), ["gw"], "the box is not tried");
  assert.match(text, /^FAILED hackspace\/gw connect: cannot connect over SSH$/m);
  assert.match(text, /^FAILED hackspace\/box edge: not converged: its edge gw failed$/m);
  assert.match(text, /^ {2}next: podkit apply \S+hs\.yaml --host gw --host box {3}\(once gw's failure is fixed\)$/m);
});
