// The role resource's dynamic provider, without an engine: serialized as Pulumi
// serializes it, loaded the way the engine's provider process loads it (plain
// node, no TypeScript loader, another working directory), and its diff and
// check called directly.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { roleContext } from "../../lib/converge/pod";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { roleNamed } from "../../lib/converge/registry";
import type { RoleState } from "../../lib/converge/types";
import { forTests, roleProvider, type RoleInputs, type RoleOutputs } from "../../lib/pulumi/role-provider";
import { splitRoleState } from "../../lib/pulumi/role-resource";
import { loadStackFile } from "../../lib/stack/load";
import { TSNODE_PREAMBLE } from "./pulumi-mocks";

const ROOT = resolve(__dirname, "../..");
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-test-key-body\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm1cR0bK2p9P0Zf3Rk4s7Qz9yXw6v5u4t3s2r1q0p9o";

const loaded = loadStackFile(join(ROOT, "stacks/hetzner.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const base = roleNamed("base").state(roleContext(stack, "mx", () => undefined, HCLOUD_PROFILE));

function inputsFor(state: RoleState, over: Partial<RoleInputs> = {}, secrets: string[] = []): RoleInputs {
  return {
    host: "mx", role: state.role, address: "203.0.113.10", port: 22, user: "root",
    hostKey: HOST_KEY, hostKeyFingerprint: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8", machineId: "1001",
    privateKey: KEY, ...splitRoleState(state, { hmacKey: over.privateKey ?? KEY, secrets, host: "mx" }), ...over,
  };
}

/** Keys in reverse order, everywhere: state comes back from the engine through Go maps, in no particular order. */
function reversed<T>(v: T): T {
  if (Array.isArray(v)) return v.map(reversed) as T;
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) as T;
  return v;
}

/** What create stores, as the engine hands it back to diff. */
function outsOf(inputs: RoleInputs): RoleOutputs {
  const { state: _s, secretFiles: _f, ...conn } = inputs;
  const fingerprints = forTests.fingerprintsOf(inputs);
  return reversed(JSON.parse(JSON.stringify({ ...conn, fingerprints, stateHash: "x", changed: [] })));
}

const withFile = (state: RoleState, path: string, change: (content: string) => string): RoleState =>
  ({ ...state, files: state.files.map((f) => (f.path === path ? { ...f, content: change(f.content) } : f)) });

async function diff(olds: RoleInputs, news: RoleInputs) {
  const d = await roleProvider.diff("mx/base", outsOf(olds), reversed(JSON.parse(JSON.stringify(news))));
  assert.deepEqual(d.replaces, [], "never a replacement");
  return d;
}

test("the role provider serializes", async () => {
  const provider = roleProvider;
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  assert.equal(sf.containsSecrets, false);
  const text = sf.text;
  assert.ok(text.length < 30_000, `serialized provider is small (${text.length} characters): no module captured by value`);
  // The module paths are strings in the text; what is captured is code.
  const code = Object.values(forTests.MODULES).reduce((t, p) => t.split(JSON.stringify(p)).join('""'), text);
  for (const captured of ["NodeSSH", "function convergeHost", "class Session", "createTwoFilesPatch", "@pulumi/pulumi", "class RoleResource", "mustache"]) {
    assert.ok(!code.includes(captured), `${captured} is not captured`);
  }
  // The converge modules are required by paths relative to the project, through tsx's scoped require.
  for (const p of Object.values(forTests.MODULES)) assert.ok(text.includes(JSON.stringify(p)), `requires ${p}`);
  assert.deepEqual(Object.values(forTests.MODULES).filter((p) => isAbsolute(p)), []);
});

test("the serialized provider, which Pulumi keeps in state, holds no path of this checkout", async () => {
  const provider = roleProvider;
  const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  for (const dir of new Set([ROOT, realpathSync(ROOT), homedir()])) assert.ok(!text.includes(dir), `${dir} is not in the provider`);
});

/** Runs the serialized provider as the engine's provider process does, in plain node from another directory. */
function runAsEngine(providerText: string, calls: string): any {
  const dir = mkdtempSync(join(tmpdir(), "podkit-provider-"));
  writeFileSync(join(dir, "provider.js"), providerText);
  const requireFromString = require.resolve("require-from-string", { paths: [dirname(require.resolve("@pulumi/pulumi"))] });
  writeFileSync(join(dir, "run.js"), `
    const provider = require(${JSON.stringify(requireFromString)})(require("fs").readFileSync(__dirname + "/provider.js", "utf8")).handler();
    (async () => { ${calls} })().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e.stack); process.exit(1); });
  `);
  // No --import tsx, no NODE_OPTIONS, the project as working directory: what the engine gives a dynamic provider.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  try {
    const out = execFileSync(process.execPath, [join(dir, "run.js")], { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 });
    return JSON.parse(out.trim().split("\n").pop()!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("the serialized provider runs in a process with no TypeScript loader: it loads the converge core and fails to connect as Session does", async () => {
  const provider = roleProvider;
  const { text } = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  const inputs = inputsFor(base, { address: "127.0.0.1", port: 1 });
  const result = runAsEngine(text, `
    const inputs = ${JSON.stringify(inputs)};
    const check = await provider.check(inputs, { ...inputs, hostKey: "" });
    const diff = await provider.diff("mx/base", { fingerprints: {} }, inputs);
    let error;
    try { await provider.create(inputs); } catch (e) { error = e.message; }
    return { check, diff: diff.changes, error };
  `);
  assert.deepEqual(result.check.failures.map((f: { property: string }) => f.property), ["hostKey"]);
  assert.equal(result.diff, true);
  // The message comes from lib/converge/ssh.ts: the .ts modules were loaded through tsx by absolute path.
  assert.match(result.error, /^mx \(127\.0\.0\.1:1\): cannot connect over SSH/);
  assert.ok(!result.error.includes("test-key-body"));
});

// `pulumi up` compiles the program with ts-node (tsc's CommonJS emit), not tsx:
// that emit is what gets serialized, so it is checked too.
const TSNODE_SERIALIZE = `${TSNODE_PREAMBLE}const { roleProvider } = require(path.join(root, "lib/pulumi/role-provider.ts"));
const provider = roleProvider;
pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true }).then((sf) => process.stdout.write(sf.text));
`;

test("the provider as Pulumi's ts-node compiles it serializes and runs the same way", () => {
  const dir = mkdtempSync(join(tmpdir(), "podkit-tsnode-provider-"));
  writeFileSync(join(dir, "serialize.js"), TSNODE_SERIALIZE);
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_PATH: join(ROOT, "node_modules") };
  delete env.NODE_OPTIONS;
  const text = execFileSync(process.execPath, [join(dir, "serialize.js"), ROOT], { cwd: ROOT, env, encoding: "utf8", timeout: 180_000 });
  rmSync(dir, { recursive: true, force: true });
  assert.ok(text.length < 30_000 && !text.includes("NodeSSH") && !text.includes("exports.roleProvider ="), `small, no module captured (${text.length})`);
  const olds = inputsFor(base);
  const news = inputsFor(withFile(base, "/etc/mailname", () => "x\n"));
  const result = runAsEngine(text, `
    const same = await provider.diff("mx/base", { fingerprints: ${JSON.stringify(forTests.fingerprintsOf(olds))} }, ${JSON.stringify(olds)});
    const changed = await provider.diff("mx/base", { fingerprints: ${JSON.stringify(forTests.fingerprintsOf(olds))} }, ${JSON.stringify(news)});
    let error;
    try { await provider.create({ ...${JSON.stringify(olds)}, address: "127.0.0.1", port: 1 }); } catch (e) { error = e.message; }
    return { same: same.changes, changed: Object.keys(changed.detailedDiff), error };
  `);
  assert.deepEqual(result, { same: false, changed: ['state.files["/etc/mailname"]'], error: result.error });
  assert.match(result.error, /cannot connect over SSH/);
});

test("diff reports changes only when the desired state differs", async () => {
  const olds = inputsFor(base);
  // Same state, keys in another order: nothing to do.
  assert.deepEqual(await diff(olds, olds), { changes: false, replaces: [], deleteBeforeReplace: false, detailedDiff: {} });

  // A changed file shows under its path, and only it.
  const renamed = await diff(olds, inputsFor(withFile(base, "/etc/mailname", () => "mail.example.org\n")));
  assert.equal(renamed.changes, true);
  assert.deepEqual(renamed.detailedDiff, { 'state.files["/etc/mailname"]': { kind: "update", inputDiff: true } });

  // Files, packages and services added or removed, each named.
  const more: RoleState = { ...base, packages: [...base.packages, "htop"], files: [...base.files, { path: "/etc/motd", content: "hi\n" }] };
  assert.deepEqual(Object.keys((await diff(olds, inputsFor(more))).detailedDiff).sort(), ['state.files["/etc/motd"]', "state.packages"]);
  assert.equal((await diff(inputsFor(more), olds)).detailedDiff['state.files["/etc/motd"]'].kind, "delete");
  const ssh: RoleState = { ...base, services: base.services!.map((s) => (s.unit === "ssh.service" ? { ...s, ports: [22, 2222] } : s)) };
  assert.deepEqual(Object.keys((await diff(olds, inputsFor(ssh))).detailedDiff), ['state.services["ssh.service"]']);
  assert.equal((await diff(olds, inputsFor({ ...base, files: base.files.map((f) => (f.path === "/etc/hostname" ? { ...f, mode: 0o600 } : f)) }))).changes, true, "a mode change is a change");

  // The same machine reached another way: nothing to converge.
  for (const over of [{ address: "198.51.100.7" }, { port: 2222 }, { user: "admin" }, { hostKey: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8" }]) {
    assert.equal((await diff(olds, inputsFor(base, over))).changes, false, JSON.stringify(over));
  }
  // Another machine (a new server, a reinstalled host with a new key) has none of the role yet: converge it.
  for (const over of [{ machineId: "1002" }, { hostKeyFingerprint: "SHA256:AAAAg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8" }]) {
    assert.deepEqual((await diff(olds, inputsFor(base, over))).detailedDiff, { machine: { kind: "update", inputDiff: true } }, JSON.stringify(over));
  }

  // Unknown during a preview (a secret known only after up), or stored by a provider without fingerprints: a change.
  assert.equal((await diff(olds, { ...olds, state: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" as unknown as RoleInputs["state"] })).changes, true);
  assert.equal((await roleProvider.diff("mx/base", { ...outsOf(olds), fingerprints: undefined } as unknown as RoleOutputs, olds)).changes, true);
});

test("a secret file changes the diff through its HMAC, never through its content", async () => {
  const withSecret = (pw: string): RoleState => ({ ...base, files: [...base.files, { path: "/etc/postfix/sasl_passwd", content: `[relay]:587 u:${pw}\n`, mode: 0o600, secret: true }] });
  const olds = inputsFor(withSecret("relay-pw-7Hq"), {}, ["relay-pw-7Hq"]);
  const file = olds.state.files["/etc/postfix/sasl_passwd"];
  assert.equal(file.content, undefined);
  assert.match(file.contentHmac!, /^[0-9a-f]{64}$/);
  assert.equal(olds.secretFiles["/etc/postfix/sasl_passwd"], "[relay]:587 u:relay-pw-7Hq\n");
  assert.ok(!JSON.stringify(outsOf(olds)).includes("relay-pw-7Hq"), "outputs hold no secret file content");

  assert.equal((await diff(olds, inputsFor(withSecret("relay-pw-7Hq"), {}, ["relay-pw-7Hq"]))).changes, false);
  assert.deepEqual((await diff(olds, inputsFor(withSecret("new-pw-8Zx"), {}, ["new-pw-8Zx"]))).detailedDiff,
    { 'state.files["/etc/postfix/sasl_passwd"]': { kind: "update", inputDiff: true } });
  // The HMAC is keyed with the deploy key: a new deploy key converges secret files once more (and changes nothing on the host).
  const rekeyed = await diff(olds, inputsFor(withSecret("relay-pw-7Hq"), { privateKey: KEY.replace("test", "next") }, ["relay-pw-7Hq"]));
  assert.deepEqual(Object.keys(rekeyed.detailedDiff), ['state.files["/etc/postfix/sasl_passwd"]']);

  // Converge gets the content back.
  const state = forTests.roleStateOf(olds);
  assert.equal(state.files.find((f) => f.path === "/etc/postfix/sasl_passwd")!.content, "[relay]:587 u:relay-pw-7Hq\n");
  assert.deepEqual(forTests.roleStateOf(inputsFor(base)).files.sort((a, b) => a.path.localeCompare(b.path)), [...base.files].sort((a, b) => a.path.localeCompare(b.path)));
});

test("a secret's value in a file not marked secret stops the program instead of reaching plain state", () => {
  const leaky: RoleState = { ...base, files: [...base.files, { path: "/etc/postfix/sasl_passwd", content: "[relay]:587 u:relay-pw-7Hq\n" }] };
  assert.throws(() => splitRoleState(leaky, { hmacKey: KEY, secrets: ["relay-pw-7Hq"], host: "mx" }),
    /^Error: mx\/base: \/etc\/postfix\/sasl_passwd holds the value of a secret but is not marked secret/);
  // A multi-line secret (a key) is found by its lines.
  const pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";
  assert.throws(() => splitRoleState({ ...base, handlers: [{ name: "x", when: [], run: "echo MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" }] },
    { hmacKey: KEY, secrets: [pem], host: "mx" }), /the role's other fields holds the value of a secret/);
  assert.doesNotThrow(() => splitRoleState(base, { hmacKey: KEY, secrets: ["relay-pw-7Hq", pem], host: "mx" }));
});

test("check refuses a role without a pinned host key or a private key, without quoting the key", async () => {
  const ok = inputsFor(base);
  assert.deepEqual((await roleProvider.check(ok, ok)).failures, []);
  const bad = { ...ok, hostKey: "", privateKey: "not a key but secret-ish-value", port: 70000 };
  const { failures } = await roleProvider.check(ok, bad);
  assert.deepEqual(failures!.map((f) => f.property).sort(), ["hostKey", "port", "privateKey"]);
  assert.ok(!JSON.stringify(failures).includes("secret-ish-value"));
  // Values known only after apply pass check (the engine checks again when they are known).
  const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
  assert.deepEqual((await roleProvider.check(ok, { ...ok, address: unknown, privateKey: unknown })).failures, []);
});

test("errors from the host never carry a secret the inputs hold", () => {
  const inputs = inputsFor(base);
  inputs.secretFiles = { "/etc/postfix/sasl_passwd": "[relay]:587 u:relay-pw-7Hq\n" };
  const msg = forTests.redact("postfix check: bad line '[relay]:587 u:relay-pw-7Hq' near b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ-test-key-body", inputs);
  assert.ok(!msg.includes("relay-pw-7Hq") && !msg.includes("test-key-body"), msg);
  assert.match(msg, /\[secret\]/);
});
