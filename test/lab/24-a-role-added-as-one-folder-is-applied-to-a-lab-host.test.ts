// The README's "Adding a role" recipe, all the way to a host: a copy of the
// repository with one folder and one line added (test/fixtures/add-a-role)
// applies pod a with its new role: the role's file and service are there, and
// its port is open through the host's firewall, to this machine too. Then the
// role's own removal declaration takes it off the host again, and pod a is
// applied from the repository as its stack file says.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import type { Role } from "../../lib/converge/role";
import { treeWithHelloRole } from "../fixtures/add-a-role/tree";
import { onHost, REPO, run } from "./helpers";
import { apply, ensurePods, type Pods } from "./pods";

let pods: Pods;
let tree: string;
const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");

before(async () => {
  pods = await ensurePods(["a"]);
  tree = treeWithHelloRole();
});

after(async () => {
  // What removing the role does, as the role declares it; then pod a as its stack file says.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { hello } = require(path.join(tree, "roles/hello/role.ts")) as { hello: Role };
  const { stop, remove } = hello.removal;
  await onHost(pods.lab, "a", `systemctl disable --now ${stop.join(" ")}; rm -rf ${remove.join(" ")}; systemctl daemon-reload`);
  const back = await apply("stacks/lab-a.yaml");
  assert.equal(back.report.exitCode, undefined, back.stderr);
  const rules = await onHost(pods.lab, "a", "nft list ruleset");
  assert.doesNotMatch(rules.stdout, /dport 8080/, "the port is closed again");
  rmSync(tree, { recursive: true, force: true });
});

test("podkit apply from the copy puts the added role's file and service on the host and opens its port", async (t) => {
  const r = await run(process.execPath, [path.join(tree, "bin/podkit.js"), "apply", path.join(tree, "stacks/lab-a.yaml"), "--secrets", SECRETS, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  const roles = report.hosts[0].roles.map((x: { role: string }) => x.role);
  t.diagnostic(`roles applied: ${roles.join(" → ")}`);
  assert.ok(roles.indexOf("hello") > roles.indexOf("base"), "hello is applied, after base");
  const hello = report.hosts[0].roles.find((x: { role: string }) => x.role === "hello");
  assert.ok(hello.items.includes("/etc/hello/httpd.conf"), `hello's changes: ${hello.items}`);

  const state = await onHost(pods.lab, "a", "systemctl is-active podkit-hello.service; cat /var/www/hello/index.html; nft list ruleset | grep 'dport 8080'");
  assert.match(state.stdout, /^active$/m);
  assert.match(state.stdout, /^hello from mx\.a\.test$/m);
  assert.match(state.stdout, /tcp dport 8080 accept comment "the hello page \(a test role\)"/);

  // Through the host's firewall, from this machine.
  const page = await fetch(`http://${pods.a.ip}:8080/`, { signal: AbortSignal.timeout(10_000) });
  assert.equal((await page.text()).trim(), "hello from mx.a.test");
});
