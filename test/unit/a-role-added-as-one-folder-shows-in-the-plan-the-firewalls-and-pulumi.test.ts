// The README's "Adding a role" recipe, followed literally: a copy of the
// repository gets one new folder (roles/hello, from test/fixtures/add-a-role)
// and one line in roles/index.ts, nothing else. Its port, record, files and
// service then show in `podkit plan`, in the nftables rules and the Hetzner
// firewall, and among the Pulumi program's role resources, as the built-in
// roles' do. test/lab/24-* applies the same copy to a lab host.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { registeredRoles } from "../../lib/converge/registry";
import { REGISTRATION, REPO, treeWithHelloRole } from "../fixtures/add-a-role/tree";

let tree: string;

const inTree = (...args: string[]) => execFileSync(process.execPath, args, { cwd: tree, encoding: "utf8", timeout: 120_000 });
const podkit = (...args: string[]) => inTree("bin/podkit.js", ...args);

before(() => {
  tree = treeWithHelloRole();
});

after(() => rmSync(tree, { recursive: true, force: true }));

test("the copy's roles/index.ts has exactly the registration line more than the repository's, which has no hello role", () => {
  const lines = (root: string) => readFileSync(join(root, "roles/index.ts"), "utf8").trimEnd().split("\n");
  assert.deepEqual(lines(tree), [...lines(REPO), REGISTRATION.trimEnd()], "one line added to roles/index.ts");
  assert.ok(!registeredRoles().some((r) => r.name === "hello"), "the repository itself has no hello role");
});

test("podkit plan shows the added role on the mail host, after base, and its DNS record", () => {
  const plan = JSON.parse(podkit("plan", "--json", "stacks/hackspace.yaml"));
  const box = plan.hosts.find((h: { name: string }) => h.name === "box");
  assert.ok(box.roles.includes("hello"), `roles on box: ${box.roles}`);
  assert.ok(box.roles.indexOf("hello") > box.roles.indexOf("base"), "hello comes after base, as it declares");
  const record = plan.records.find((r: { name: string; type: string }) => r.name === "hello.hackspace.example" && r.type === "TXT");
  assert.ok(record, "the role's TXT record is in the plan");
  assert.equal(record.value, "hello from box");
});

test("the base role's nftables rules open the added role's port with its reason, and the role's file and service are rendered", () => {
  const howto = podkit("howto", "stacks/hackspace.yaml");
  assert.match(howto, /tcp dport 8080 accept comment "the hello page \(a test role\)"/);
  assert.match(howto, /^- `\/etc\/hello\/httpd\.conf`, mode 644, owner root:root:$/m);
  assert.match(howto, /systemctl enable --now podkit-hello\.service/);
});

test("under Pulumi's mocks the Hetzner firewall opens the added role's port and the role gets its own resource", () => {
  const out = JSON.parse(inTree("--import", "tsx", "test/fixtures/add-a-role/hetzner-under-mocks.ts").trim().split("\n").at(-1)!);
  const rule = out.firewallRules.find((r: { port?: string }) => r.port === "8080");
  assert.ok(rule, `a firewall rule for port 8080 among ${out.firewallRules.map((r: { port?: string }) => r.port)}`);
  assert.equal(rule.protocol, "tcp");
  assert.equal(rule.description, "hello: the hello page (a test role)");
  assert.deepEqual(rule.sourceIps, ["0.0.0.0/0", "::/0"]);
  assert.ok(out.roles.includes("mx-role-hello"), `role resources: ${out.roles}`);
  assert.ok(out.records.some((r: { name: string; type: string }) => r.name === "hello.example.org" && r.type === "TXT"), "its record at Cloudflare");
});
