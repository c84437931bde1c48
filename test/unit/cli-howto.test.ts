// `podkit howto`: the DIY path. Same packages and files as apply, no secrets.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

test("podkit howto prints packages and real config files for each role, and never a secret", () => {
  const secrets = join(mkdtempSync(join(tmpdir(), "podkit-howto-")), "s.yaml");
  writeFileSync(secrets, "ada-password: correct-horse-battery\ngrace-password: tr0ub4dor\nrelay-password: relay-secret-value\n", { mode: 0o600 });
  const r = spawnSync(process.execPath, ["bin/podkit.js", "howto", "stacks/hackspace.yaml", "--secrets", secrets], { cwd: `${__dirname}/../..`, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  for (const role of ["base", "tls", "web", "mail", "xmpp"]) assert.match(out, new RegExp(`^### Role ${role}$`, "m"));
  assert.match(out, /^apt-get install --no-install-recommends postfix dovecot-core/m);
  assert.match(out, /^- `\/etc\/postfix\/main\.cf` \(mode 644, owner root:root\):/m);
  assert.match(out, /^myhostname = box\.hackspace\.example$/m);
  assert.match(out, /^relayhost = \[smtp\.isp\.example\]:587$/m);
  assert.match(out, /`\/etc\/postfix\/sasl_passwd` \(mode 600, owner root:root\): secret/);
  for (const secret of ["correct-horse-battery", "tr0ub4dor", "relay-secret-value", "BEGIN PRIVATE KEY", "SCRAM-SHA-256}"]) assert.ok(!out.includes(secret), `${secret} must not be printed`);
});
