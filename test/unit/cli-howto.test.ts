// `podkit howto`: the DIY path. Same packages and files as apply, secrets only as
// placeholders, and the commands it shows make the very hashes podkit would.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { howtoHtml } from "../../lib/howto/html";
import { loginKeyOf, renderHowto } from "../../lib/howto/markdown";
import { wireguardPublicKey } from "../../lib/stack/edge";
import { loadPod } from "../../lib/stack/pod";
import { dovecotScramSha256, prosodyScramSha256 } from "../../lib/stack/passwords";
import { groupOf, modeOf, ownerOf } from "../../lib/converge/changes";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { rolesByHost } from "../../lib/stack/derive";
import { commandCount, filesWritten, fill, makeValues, readHowto, unfilled } from "../lab/howto-reader";
import { TEST_PROVIDERS } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const secretsFile = (text: string) => {
  const f = join(mkdtempSync(join(tmpdir(), "podkit-howto-")), "s.yaml");
  writeFileSync(f, text, { mode: 0o600 });
  return f;
};

test("podkit howto prints packages and real config files for each role, and never a secret", () => {
  const secrets = secretsFile("ada-password: correct-horse-battery\ngrace-password: tr0ub4dor\nrelay-password: relay-secret-value\n");
  const r = spawnSync(process.execPath, ["bin/podkit.js", "howto", "stacks/hackspace.yaml", "--secrets", secrets], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  for (const role of ["base", "tls", "web", "mail", "xmpp"]) assert.match(out, new RegExp(`^### Role ${role}$`, "m"));
  assert.match(out, /^DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confold postfix dovecot-core/m);
  assert.match(out, /^- `\/etc\/postfix\/main\.cf`, mode 644, owner root:root:$/m);
  assert.match(out, /^cat > \/etc\/postfix\/main\.cf <<'PODKIT_EOF'\n/m);
  assert.match(out, /^myhostname = box\.hackspace\.example$/m);
  assert.match(out, /^relayhost = \[smtp\.isp\.example\]:587$/m);
  assert.match(out, /^install -m 600 \/dev\/null \/etc\/postfix\/sasl_passwd$/m);
  assert.match(out, /^\[smtp\.isp\.example\]:587 \S+:<RELAY_PASSWORD>$/m);
  assert.match(out, /^# <DKIM_KEY> \(secret dkim-key\): .*\nopenssl genpkey -algorithm RSA/m);
  assert.match(out, /^; DKIM public key.*\n.*p=<DKIM_PUBLIC_KEY>/m);
  assert.match(out, /^systemctl is-active .*\bpostfix\.service\b/m);
  for (const secret of ["correct-horse-battery", "tr0ub4dor", "relay-secret-value", "BEGIN PRIVATE KEY", "__PODKIT_SECRET"]) assert.ok(!out.includes(secret), `${secret} must not be printed`);
  assert.doesNotMatch(out, /SCRAM-SHA-256\}600000,[A-Za-z0-9+/=]{20}/, "no password hash is printed");
});

test("the how-to's own OpenSSL commands make the password hashes podkit writes, so a pod built by hand is no diff", () => {
  const values = { "alice-password": "pw of alice", "carol-password": "c4rol", "password-salt": "the-salt-key", "turn-secret": "t", "backup-passphrase": "p", "backup-rest-password": "r", "backup-prune-password": "q" };
  const secrets = secretsFile(Object.entries(values).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n"));
  const pod = loadPod(join(ROOT, "stacks/lab-a.yaml"), { providers: TEST_PROVIDERS, secretsFile: secrets, generate: true, log: () => {} });
  const markdown = renderHowto(pod);
  const steps = readHowto(markdown);
  const made = makeValues(steps, (name) => pod.secrets.get(name));
  assert.equal(made.get("<DOVECOT_HASH_ALICE_A_TEST>"), dovecotScramSha256("alice@a.test", "pw of alice", "the-salt-key"));
  const prosody = prosodyScramSha256("carol@a.test", "c4rol", "the-salt-key");
  assert.equal(made.get("<PROSODY_SALT_CAROL_A_TEST>"), prosody.salt);
  assert.equal(made.get("<PROSODY_STORED_KEY_CAROL_A_TEST>"), prosody.stored_key);
  assert.equal(made.get("<PROSODY_SERVER_KEY_CAROL_A_TEST>"), prosody.server_key);
  assert.equal(made.get("<DKIM_PUBLIC_KEY>"), pod.dns.dkimPublicKey);
  // Every placeholder a host step holds is made by some block before it.
  for (const s of steps.filter((s) => s.kind === "run")) assert.deepEqual(unfilled(fill(s.script, made)).filter((p) => p !== "<message>"), [], s.script.slice(0, 200));
  assert.ok(filesWritten(steps) > 40 && commandCount(steps) > 100, `${filesWritten(steps)} files, ${commandCount(steps)} commands`);
  for (const v of Object.values(values)) assert.ok(!markdown.includes(`'${v}'`) && !markdown.includes(`:${v}\n`), `${v} is not printed`);
});

test("podkit howto --html writes one page with contents, a copy button per block, and nothing unescaped", () => {
  const md = "# T\n\n## Host <x>\n\n### Role a & b\n\nText with `<code>` and <b>.\n\n- `f`, mode 644:\n\n```sh\ncat > f <<'PODKIT_EOF'\n<script>alert(1)</script>\nPODKIT_EOF\n```\n";
  const html = howtoHtml(md);
  assert.match(html, /<a href="#host-x">Host &lt;x&gt;<\/a>/);
  assert.match(html, /<h3 id="role-a-b">Role a &amp; b<\/h3>/);
  assert.equal(html.match(/<button type="button" class="copy"/g)?.length, 1);
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.includes("<script>alert"));
  assert.ok(!/https?:\/\//.test(html.replace(/<main>[\s\S]*<\/main>/, "")), "the page loads nothing from the network");
  const out = join(mkdtempSync(join(tmpdir(), "podkit-howto-")), "h.html");
  const secrets = secretsFile("ada-password: a\ngrace-password: g\nrelay-password: r\n");
  const r = spawnSync(process.execPath, ["bin/podkit.js", "howto", "stacks/hackspace.yaml", "--secrets", secrets, "--html", "--out", out], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  assert.match(readFileSync(out, "utf8"), /^<!doctype html>[\s\S]*<nav aria-label="contents">[\s\S]*id="role-mail"/);
});

test("every file the lab-b how-to writes, its placeholders filled, is byte for byte the file apply writes, with its mode and owner", () => {
  const values = { "bob-password": "b0b's pw", "dave-password": "d", "password-salt": "salt-key", "turn-secret": "turn", "backup-passphrase": "pass", "backup-rest-password": "rest", "backup-prune-password": "prune" };
  const secrets = secretsFile(Object.entries(values).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n"));
  const pod = loadPod(join(ROOT, "stacks/lab-b.yaml"), { providers: TEST_PROVIDERS, secretsFile: secrets, generate: true, log: () => {} });
  const steps = readHowto(renderHowto(pod));
  const made = makeValues(steps, (name) => pod.secrets.get(name));
  const blocks = steps.filter((s) => s.kind === "run").map((s) => fill(s.script, made));
  // Every block a reader pastes is whole shell, as bash reads it.
  for (const b of blocks) {
    const syntax = spawnSync("bash", ["-n"], { input: b, encoding: "utf8" });
    assert.equal(syntax.status, 0, `bash -n: ${syntax.stderr} in a block starting ${b.split("\n")[0]}`);
  }
  const script = blocks.join("\n");
  // What a shell makes of each file block: the heredoc's lines, less a final newline when truncated.
  const written = new Map<string, { content: string; mode: string; owner: string }>();
  const block = /^cat > (\S+) <<'PODKIT_EOF'\n([\s\S]*?)^PODKIT_EOF\n(truncate -s -1 \1\n)?chown (\S+) \1\nchmod (\d+) \1$/gm;
  for (const m of script.matchAll(block)) written.set(m[1], { content: m[3] ? m[2].slice(0, -1) : m[2], owner: m[4], mode: m[5] });
  const [host, roles] = Object.entries(rolesByHost(pod.stack))[0];
  const ctx = roleContext(pod.stack, host, (n) => pod.secrets.get(n), TEST_PROVIDERS.lab!.profile(pod.stack, host), loginKeyOf(pod, host));
  const files = roles.flatMap((r) => roleNamed(r).state(ctx).files);
  assert.equal(written.size, files.length, "one block per file");
  for (const f of files) {
    const w = written.get(f.path);
    assert.ok(w, `${f.path} is written`);
    assert.ok(w.content === f.content, `${f.path}: the how-to's content is apply's`);
    assert.equal(w.mode, modeOf(f).toString(8), `${f.path} mode`);
    assert.equal(w.owner, `${ownerOf(f)}:${groupOf(f)}`, `${f.path} owner`);
  }
});

test("a pod with an edge: the how-to's OpenSSL blocks make each tunnel key's public half as `wg pubkey` does, and the two tunnel configs name each other's", () => {
  const pod = loadPod(join(ROOT, "stacks/hackspace-edge.yaml"), { providers: TEST_PROVIDERS, secretsFile: secretsFile(""), generate: true, log: () => {} });
  const markdown = renderHowto(pod);
  const made = makeValues(readHowto(markdown), (name) => pod.secrets.get(name));
  for (const host of ["gw", "box"]) {
    const key = pod.secrets.get(`wireguard-key-${host}`)!;
    assert.equal(made.get(`<WIREGUARD_PUBLIC_KEY_${host.toUpperCase()}>`), wireguardPublicKey(key), host);
    assert.ok(!markdown.includes(key), `${host}'s private key is not printed`);
  }
  assert.match(markdown, /^PrivateKey = <WIREGUARD_KEY_GW>$[\s\S]*^PublicKey = <WIREGUARD_PUBLIC_KEY_BOX>$/m);
  assert.match(markdown, /^PrivateKey = <WIREGUARD_KEY_BOX>$[\s\S]*^PublicKey = <WIREGUARD_PUBLIC_KEY_GW>$/m);
});
