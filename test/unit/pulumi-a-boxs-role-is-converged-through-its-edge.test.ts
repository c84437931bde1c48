// The role provider for a box behind an edge: its inputs carry the edge as a
// jump host (checked like the box's own pin and key), the converge goes
// through it and falls back to the box's own address, and the edge's key is
// blanked from any message like the box's.
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { closedPort } from "./ports";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { forTests, roleProvider, type RoleInputs } from "../../lib/pulumi/role-provider";
import { splitRoleState } from "../../lib/pulumi/role-resource";
import { loadStackFile } from "../../lib/stack/load";

const ROOT = resolve(__dirname, "../..");
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-box-key-body\n-----END OPENSSH PRIVATE KEY-----\n";
const EDGE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-edge-key-body\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm1cR0bK2p9P0Zf3Rk4s7Qz9yXw6v5u4t3s2r1q0p9o";

const loaded = loadStackFile(join(ROOT, "stacks/hackspace-edge.yaml"));
assert.ok(loaded.ok);
const base = roleNamed("base").state(roleContext(loaded.stack, "box", () => undefined, HCLOUD_PROFILE));

function boxInputs(edgePort: number, directPort: number): RoleInputs {
  return {
    host: "box", role: "base", address: "10.201.0.2", port: 22, user: "root", hostKey: HOST_KEY,
    hostKeyFingerprint: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", privateKey: KEY,
    via: { host: "gw", address: "127.0.0.1", port: edgePort, user: "root", hostKey: HOST_KEY, privateKey: EDGE_KEY },
    direct: { address: "127.0.0.1", port: directPort },
    ...splitRoleState(base, { hmacKey: KEY, secrets: [], host: "box" }),
  };
}


test("an edge without a pinned key or a login key fails the check, on the via property", async () => {
  const inputs = boxInputs(22, 22);
  const ok = await roleProvider.check(inputs, inputs);
  assert.deepEqual(ok.failures, []);
  const bad = await roleProvider.check(inputs, { ...inputs, via: { ...inputs.via!, hostKey: "", privateKey: "" } });
  assert.deepEqual(bad.failures?.map((f) => f.property), ["via", "via"]);
  assert.match(bad.failures![0].reason, /edge gw/);
});

test("the converge tries the edge, then the box's own address, and no message holds the edge's key", async () => {
  const inputs = boxInputs(await closedPort(), await closedPort());
  const said: string[] = [];
  const error = console.error;
  console.error = (m: string) => said.push(String(m));
  process.chdir(ROOT);
  let message = "";
  try {
    await roleProvider.create(inputs);
  } catch (e) {
    message = (e as Error).message;
  } finally {
    console.error = error;
  }
  assert.match(said.join("\n"), /box: not reachable through its edge gw \(gw \(127\.0\.0\.1:\d+\): cannot connect over SSH.*\); connecting directly to 127\.0\.0\.1:\d+ instead/);
  assert.match(message, /^box \(127\.0\.0\.1:\d+\): cannot connect over SSH/);
  assert.equal(forTests.redact(`oops ${EDGE_KEY.split("\n")[1]}`, inputs), "oops [secret]");
});
