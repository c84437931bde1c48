// `pulumi up` does not run index.ts through tsx as the tests do: Pulumi's Node.js
// host compiles it with ts-node (its vendored 7.0.1 unless the project has one)
// and the project's TypeScript, type-checking every file it loads. This runs the
// program that way, under mocks, in a child process, so a program that type
// checks with tsc but not under Pulumi's loader fails here and not for a volunteer.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { TSNODE_PREAMBLE } from "./pulumi-mocks";

const ROOT = resolve(__dirname, "../..");

// Mirrors @pulumi/pulumi/cmd/run/run.js (3.248) for a CommonJS project: same ts-node, options and compiler.
const RUNNER = `${TSNODE_PREAMBLE}const { generateKeyPairSync } = require("crypto");
const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsa = pair.publicKey.export({ type: "spki", format: "pem" });
const rsaPrivate = pair.privateKey.export({ type: "pkcs8", format: "pem" });
const types = [];
pulumi.runtime.setMocks({
  newResource: (a) => { types.push(a.type); return { id: String(types.length), state: { ...a.inputs, ipAddress: "203.0.113.9",
    ipv4Address: "203.0.113.9", ipv6Address: "2001:db8::1", publicKeyPem: rsa, privateKeyPemPkcs8: rsaPrivate,
    privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\\n(mock)\\n-----END OPENSSH PRIVATE KEY-----\\n",
    publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm1cR0bK2p9P0Zf3Rk4s7Qz9yXw6v5u4t3s2r1q0p9o" } }; },
  call: () => ({ id: "0123456789abcdef0123456789abcdef" }),
}, "podkit", "hetzner").then(async () => {
  pulumi.runtime.setAllConfig(Object.fromEntries(["relay-password", "backup-passphrase", "sam-password", "noor-password", "kim-password"]
    .map((k) => ["podkit:" + k, "x"])), []);
  const program = require(path.join(root, "index.ts"));
  await new Promise((r) => setTimeout(r, 1500));
  console.log(JSON.stringify({ typescript: require(typescriptRequire).version, tsnode: tsnodeRequire, outputs: Object.keys(program), types }));
});
`;

test("index.ts type-checks and runs under Pulumi's own TypeScript loader (ts-node), as `pulumi up` runs it", () => {
  const script = join(mkdtempSync(join(tmpdir(), "podkit-tsnode-")), "run.js");
  writeFileSync(script, RUNNER);
  // Resolve modules from the project, as Pulumi's host does.
  const out = execFileSync(process.execPath, [script, ROOT], {
    cwd: ROOT, encoding: "utf8", env: { ...process.env, NODE_PATH: join(ROOT, "node_modules") }, timeout: 180_000,
  });
  const result = JSON.parse(out.trim().split("\n").pop()!);
  assert.match(result.typescript, /^5\./, "the project's TypeScript, not Pulumi's vendored 3.8");
  assert.deepEqual(result.outputs.sort(), ["addresses", "dkimKeySource", "hostKeys", "hosts", "knownHosts", "roles", "stackFile", "zoneFiles"]);
  assert.ok(result.types.includes("hcloud:index/server:Server"));
  assert.ok(result.types.includes("cloudflare:index/dnsRecord:DnsRecord"));
});
