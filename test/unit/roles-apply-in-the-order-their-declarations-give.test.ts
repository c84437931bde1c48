// Roles declare what they come after; the apply order on a host is derived
// from that, never kept by hand. And what a role declares is whole: its
// folder, a reason for each dependency, a reason for each port, no port
// claimed twice on a host.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { inApplyOrder, registeredRoles } from "../../lib/converge/registry";
import { rolePorts, type Role } from "../../lib/converge/role";
import { rolesByHost, serviceNames } from "../../lib/stack/derive";
import { loadStackFile } from "../../lib/stack/load";
import { podPorts, portSpec } from "../../lib/stack/ports";

const ROOT = resolve(__dirname, "../..");
const role = (name: string, after: Record<string, string> = {}): Role =>
  ({ name, after, appliesTo: () => true, ports: [], state: () => ({ role: name, packages: [], files: [] }), removal: { stop: [], remove: [] } });

test("the registered roles apply as their declarations give: base, tunnel, tls, edge, web, mail, xmpp, backup, turn, check", () => {
  assert.deepEqual(registeredRoles().map((r) => r.name), ["base", "tunnel", "tls", "edge", "web", "mail", "xmpp", "backup", "turn", "check"]);
});

test("every role comes after the roles it names, whatever order they are listed in", () => {
  const roles = [role("d", { b: "x", c: "x" }), role("c", { a: "x" }), role("b", { a: "x" }), role("a")];
  assert.deepEqual(inApplyOrder(roles).map((r) => r.name), ["a", "b", "c", "d"]);
  assert.deepEqual(inApplyOrder([...roles].reverse()).map((r) => r.name), ["a", "b", "c", "d"]);
});

test("a dependency on a role that is not registered, or a cycle, is refused with the roles' names", () => {
  assert.throws(() => inApplyOrder([role("a", { nope: "x" })]), /role a comes after "nope", which is not a registered role/);
  assert.throws(() => inApplyOrder([role("a", { b: "x" }), role("b", { a: "x" }), role("c")]), /roles a, b each wait for another/);
});

test("every registered role is the folder of its name, says why it comes after each role, and why each port is open", () => {
  for (const r of registeredRoles()) {
    assert.ok(existsSync(join(ROOT, "roles", r.name, "role.ts")), `roles/${r.name}/role.ts`);
    assert.ok(existsSync(join(ROOT, "roles", r.name, "README.md")), `roles/${r.name}/README.md`);
    for (const [dep, why] of Object.entries(r.after)) assert.ok(why.length > 10, `${r.name} after ${dep}: a reason`);
    // A role whose ports come from the stack: as every example stack's hosts have them.
    const ports = typeof r.ports !== "function" ? r.ports : exampleStacks().flatMap((stack) => Object.keys(stack.hosts).filter((h) => r.appliesTo(stack, h)).flatMap((h) => rolePorts(r, stack, h)));
    for (const p of ports) assert.ok(p.why.length > 10, `${r.name} port ${p.port ?? p.range}: a reason`);
  }
});

function exampleStacks() {
  return readdirSync(join(ROOT, "stacks")).filter((f) => f.endsWith(".yaml") && !f.endsWith(".secrets.yaml")).map((file) => {
    const loaded = loadStackFile(join(ROOT, "stacks", file));
    assert.ok(loaded.ok, file);
    return loaded.stack;
  });
}

test("in every example stack, no two roles on a host open the same port", () => {
  for (const file of readdirSync(join(ROOT, "stacks")).filter((f) => f.endsWith(".yaml") && !f.endsWith(".secrets.yaml"))) {
    const loaded = loadStackFile(join(ROOT, "stacks", file));
    assert.ok(loaded.ok, file);
    for (const host of Object.keys(rolesByHost(loaded.stack))) {
      const specs: string[] = podPorts(loaded.stack, host).map((p) => `${p.protocol}/${portSpec(p)}`);
      assert.deepEqual(specs.filter((s, i) => specs.indexOf(s) !== i), [], `${file} ${host}`);
    }
  }
});

test("a host's names are its own, then what its roles declare, domain by domain in the stack's order", () => {
  const loaded = loadStackFile(join(ROOT, "stacks/hetzner.yaml"));
  assert.ok(loaded.ok);
  const perDomain = (d: string) => [`mta-sts.${d}`, `autoconfig.${d}`, d, `conference.${d}`, `upload.${d}`];
  assert.deepEqual(serviceNames(loaded.stack, "mx").map((n) => n.name), ["mx.example.org", ...perDomain("example.org"), ...perDomain("example.net")]);
});
