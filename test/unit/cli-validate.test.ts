// `podkit validate` from a user's shell: exit codes and messages, with the
// network taken away (a fresh network namespace) to prove nothing is contacted.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { test } from "node:test";

const ROOT = `${__dirname}/../..`;

/** Runs the CLI as a user would, without any network when unshare is possible (root). */
function podkit(...args: string[]) {
  const offline = process.getuid?.() === 0 && spawnSync("unshare", ["--net", "true"]).status === 0;
  const cmd = offline ? ["unshare", "--net", process.execPath, "bin/podkit.js", ...args] : [process.execPath, "bin/podkit.js", ...args];
  const r = spawnSync(cmd[0], cmd.slice(1), { cwd: ROOT, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr, offline };
}

test("every example stack in stacks/ is valid", () => {
  const stacks = readdirSync(`${ROOT}/stacks`).filter((f) => /^[^.]+\.yaml$/.test(f)).map((f) => `stacks/${f}`);
  assert.ok(stacks.length >= 4);
  const r = podkit("validate", ...stacks);
  assert.equal(r.code, 0, r.err);
  for (const s of stacks) assert.match(r.out, new RegExp(`^${s}: ok`, "m"));
});

const BAD: [string, string][] = [
  ["unknown-key", 'test/fixtures/bad/unknown-key.yaml:10:3 dns.tll: unknown key "tll"; did you mean "ttl"?'],
  ["wrong-type", 'test/fixtures/bad/wrong-type.yaml:8:20 hosts.mx.existing.ssh.port: expected a number, got "twentytwo"'],
  ["dangling-host", 'test/fixtures/bad/dangling-host.yaml:14:9 chat.host: host "xmpp" is not defined in hosts (hosts: mx)'],
  ["duplicate-address", 'test/fixtures/bad/duplicate-address.yaml:18:15 accounts["bob@example.org"].aliases[0]: postmaster@example.org is already claimed by an alias of alice@example.org (accounts["alice@example.org"].aliases[0])'],
];

for (const [name, line] of BAD) {
  test(`a stack with a ${name.replace("-", " ")} exits 65 naming file:line:column and the field, offline`, () => {
    const r = podkit("validate", `test/fixtures/bad/${name}.yaml`);
    assert.equal(r.code, 65);
    assert.equal(r.err.split("\n")[0], line);
    assert.match(r.err, /^1 problem$/m);
    if (!r.offline) console.log("(network namespace unavailable: ran with the network)");
  });
}

test("a stack with shell syntax in a URL and a line break in a name exits 65, one located line per problem", () => {
  const r = podkit("validate", "test/fixtures/bad/hostile-values.yaml");
  assert.equal(r.code, 65);
  const lines = r.err.trimEnd().split("\n");
  assert.deepEqual(lines.map((l) => l.split(" ").slice(0, 2).join(" ")), [
    "test/fixtures/bad/hostile-values.yaml:11:22 tls.acme.directory:",
    'test/fixtures/bad/hostile-values.yaml:14:11 accounts["alice@example.org"].name:',
    "2 problems",
  ]);
  assert.match(lines[1], /expected text without control characters: found U\+000A/);
  assert.doesNotMatch(r.err, /\u202e|^\s+at /m, "no bidi control and no stack trace reach the terminal");
});

test("a YAML alias bomb exits 65 with a located problem, quickly and without a stack trace", () => {
  const started = Date.now();
  const r = podkit("validate", "test/fixtures/bad/alias-bomb.yaml");
  assert.equal(r.code, 65);
  assert.match(r.err, /^test\/fixtures\/bad\/alias-bomb\.yaml:1:1 \(top level\): at most 100 alias expansions/);
  assert.doesNotMatch(r.err, /^\s+at /m);
  assert.ok(Date.now() - started < 10_000);
});

test("problems in several files are all reported, and one good file does not hide them", () => {
  const r = podkit("validate", "stacks/hackspace.yaml", "test/fixtures/bad/unknown-key.yaml", "test/fixtures/bad/wrong-type.yaml");
  assert.equal(r.code, 65);
  assert.match(r.out, /stacks\/hackspace\.yaml: ok/);
  assert.match(r.err, /^2 problems in 2 files$/m);
});

test("usage errors exit 64 and unknown commands list the commands", () => {
  assert.equal(podkit("validate").code, 64);
  const r = podkit("frobnicate");
  assert.equal(r.code, 64);
  assert.match(r.err, /unknown command "frobnicate"/);
  assert.match(r.err, /validate .*zone/s);
});

test("a missing file is reported as such, not as a crash", () => {
  const r = podkit("validate", "stacks/nope.yaml");
  assert.equal(r.code, 65);
  assert.match(r.err, /^stacks\/nope\.yaml:1:1 \(file\): no such file$/m);
});

test("a glob that also matches the stacks' secrets files still validates: they are recognised, not parsed as stacks", () => {
  const dir = require("node:fs").mkdtempSync(`${require("node:os").tmpdir()}/podkit-glob-`);
  require("node:fs").copyFileSync(`${ROOT}/stacks/hackspace.yaml`, `${dir}/hackspace.yaml`);
  require("node:fs").writeFileSync(`${dir}/hackspace.secrets.yaml`, "ada-password: x\n", { mode: 0o600 });
  const r = podkit("validate", `${dir}/hackspace.yaml`, `${dir}/hackspace.secrets.yaml`);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /hackspace\.secrets\.yaml: secrets file \(1 secrets\), not a stack/);
});
