// A host's Debian release picks the config its daemons read: a role's
// templates.<codename>/ file wins over templates/ on that release (Dovecot 2.4
// on trixie), one-line differences are placeholders (nginx's http2), and a
// release podkit has no configs for is refused instead of rendered.
// (Whether each daemon accepts what is rendered is the checker roots' part:
// roles/*/role.test.ts.)
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { ROLES_DIR, templateFile } from "../../lib/converge/template";
import { EXISTING_PROFILE } from "../../lib/infra/existing-provider";
import { loadStackFile } from "../../lib/stack/load";
import { RELEASES } from "../../lib/stack/releases";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "hetzner.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const render = (role: string, release: string) =>
  roleNamed(role).state(roleContext(stack, "mx", (name) => `value of ${name}`, { ...EXISTING_PROFILE, release }));
const file = (role: string, release: string, path: string) => {
  const f = render(role, release).files.find((x) => x.path === path);
  assert.ok(f, `${role} on ${release} writes ${path}`);
  return f.content;
};

test("a role's templates.<codename>/ file wins on that release, and every other release gets templates/", () => {
  assert.equal(templateFile("mail", "etc/dovecot/dovecot.conf", "trixie"), join(ROLES_DIR, "mail", "templates.trixie", "etc/dovecot/dovecot.conf"));
  assert.equal(templateFile("mail", "etc/dovecot/dovecot.conf", "bookworm"), join(ROLES_DIR, "mail", "templates", "etc/dovecot/dovecot.conf"));
  assert.equal(templateFile("mail", "etc/postfix/main.cf", "trixie"), join(ROLES_DIR, "mail", "templates", "etc/postfix/main.cf"));
  // A release after trixie without a variant of its own keeps trixie's: the file changed with trixie, not back.
  const withForky = [...RELEASES, { ...RELEASES[RELEASES.length - 1], codename: "forky", version: "14", image: "debian-14" }];
  assert.equal(templateFile("mail", "etc/dovecot/dovecot.conf", "forky", withForky), join(ROLES_DIR, "mail", "templates.trixie", "etc/dovecot/dovecot.conf"));
});

test("a trixie mail host gets Dovecot 2.4's config and quota field, a bookworm one 2.3's, with mailboxes at the same place", () => {
  const trixie = file("mail", "trixie", "/etc/dovecot/dovecot.conf");
  const bookworm = file("mail", "bookworm", "/etc/dovecot/dovecot.conf");
  assert.match(trixie, /^dovecot_config_version = 2\.4\.\d+$/m);
  assert.match(trixie, /^mail_home = \/var\/mail\/vhosts\/%\{user \| domain \| lower\}\/%\{user \| username \| lower\}$/m);
  assert.match(trixie, /^mail_path = ~\/Maildir$/m);
  assert.match(trixie, /^\s+path = ~\/sieve$/m);
  assert.match(trixie, /^\s+active_path = ~\/\.dovecot\.sieve$/m);
  assert.doesNotMatch(bookworm, /dovecot_config_version/);
  assert.match(bookworm, /home=\/var\/mail\/vhosts\/%Ld\/%Ln/);
  assert.match(bookworm, /^mail_location = maildir:~\/Maildir$/m);
  assert.match(bookworm, /sieve = file:~\/sieve;active=~\/\.dovecot\.sieve/);
  assert.match(file("mail", "trixie", "/etc/dovecot/users"), /^kim@example\.net:\{SCRAM-SHA-256\}[^:]+::::::userdb_quota_storage_size=1G$/m);
  assert.match(file("mail", "bookworm", "/etc/dovecot/users"), /^kim@example\.net:\{SCRAM-SHA-256\}[^:]+::::::userdb_quota_rule=\*:storage=1G$/m);
});

test("nginx on trixie says `http2 on;`, on bookworm the listen parameter it knows", () => {
  const trixie = file("web", "trixie", "/etc/nginx/podkit.d/web.conf");
  const bookworm = file("web", "bookworm", "/etc/nginx/podkit.d/web.conf");
  assert.match(trixie, /^\s+http2 on;$/m);
  assert.doesNotMatch(trixie, /listen .* http2;/);
  assert.match(bookworm, /^\s+listen 443 ssl http2;$/m);
  assert.doesNotMatch(bookworm, /http2 on;/);
});

test("Prosody 13 on trixie needs no prosody-modules: push and stream management are its own", () => {
  assert.ok(render("xmpp", "bookworm").packages.includes("prosody-modules"));
  assert.ok(!render("xmpp", "trixie").packages.includes("prosody-modules"));
});

test("a role asked to render for a release podkit has no configs for refuses, naming the supported ones", () => {
  for (const role of ["base", "tls", "web", "mail", "xmpp", "backup"]) {
    assert.throws(() => render(role, "bullseye"), /renders configs for Debian 12 \(bookworm\) or Debian 13 \(trixie\) only, not for bullseye/, role);
  }
});
