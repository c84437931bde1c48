// What someone holding /etc/dovecot/users or a Prosody account file (from the
// host, a backup, a rollback copy) can do with it: only run the full PBKDF2 per
// guess. The salt gives nothing away (it is not computable from the address and
// a guessed password), the rounds are at least OWASP's floor for
// PBKDF2-HMAC-SHA256, and the stored keys do verify the right password.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { join } from "node:path";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { loadStackFile } from "../../lib/stack/load";
import { scramSha256 } from "../../lib/stack/passwords";
import type { Stack } from "../../lib/stack/schema";
import { mail } from "../../roles/mail/role";
import { xmpp } from "../../roles/xmpp/role";
import { profileOf } from "./host-profiles";

const OWASP_PBKDF2_SHA256 = 600_000;

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
if (!loaded.ok) throw new Error("stacks/lab-a.yaml does not load");
const stack: Stack = loaded.stack;
const PASSWORD = "correct horse battery staple";
const ADDRESS = "alice@a.test";

/** The hashes a pod stores, with every account's password PASSWORD and the pod's other secrets random. */
function storedHashes() {
  const secrets = new Map<string, string>();
  const lookup = (name: string) => {
    if (name.endsWith("-password")) return PASSWORD;
    if (!secrets.has(name)) secrets.set(name, name === "dkim-key" ? "not read by these files" : randomBytes(32).toString("base64url"));
    return secrets.get(name);
  };
  const ctx = roleContext(stack, "mx", lookup, profileOf(stack, "mx"));
  const users = mail.state(ctx).files.find((f) => f.path === "/etc/dovecot/users")!.content;
  const line = users.split("\n").find((l) => l.startsWith(`${ADDRESS}:`))!;
  const m = /\{SCRAM-SHA-256\}(\d+),([^,]+),([^,]+),([^,:]+)/.exec(line);
  assert.ok(m, `a {SCRAM-SHA-256} entry for ${ADDRESS}: ${line}`);
  const chat = xmpp.state(ctx);
  const account = chat.files.find((f) => f.path === "/var/lib/prosody/a%2etest/accounts/alice.dat")!.content;
  const field = (k: string) => new RegExp(`\\["${k}"\\] = "?([^";]+)"?;`).exec(account)?.[1] ?? "";
  return {
    dovecot: { iterations: Number(m[1]), salt: Buffer.from(m[2], "base64"), storedKey: m[3], serverKey: m[4] },
    prosody: { iterations: Number(field("iteration_count")), salt: field("salt"), storedKey: field("stored_key"), serverKey: field("server_key") },
    prosodyConfig: chat.files.find((f) => f.path === "/etc/prosody/prosody.cfg.lua")!.content,
  };
}

const pod = storedHashes();

test("Dovecot and Prosody store at least OWASP's 600,000 PBKDF2-HMAC-SHA256 rounds", () => {
  assert.ok(pod.dovecot.iterations >= OWASP_PBKDF2_SHA256, `Dovecot: ${pod.dovecot.iterations} rounds`);
  assert.ok(pod.prosody.iterations >= OWASP_PBKDF2_SHA256, `Prosody: ${pod.prosody.iterations} rounds`);
  // Prosody verifies with the hash its config names: SHA-256, not its default SHA-1.
  assert.match(pod.prosodyConfig, /^password_hash = "SHA-256"$/m);
  assert.equal(pod.prosody.storedKey.length, 64, "a SHA-256 StoredKey (hex)");
});

test("the full PBKDF2 over the stored salt and rounds verifies the right password and refuses a wrong one", () => {
  for (const [who, h] of Object.entries({ dovecot: pod.dovecot, prosody: pod.prosody })) {
    const enc = (b: Buffer) => (who === "dovecot" ? b.toString("base64") : b.toString("hex"));
    const right = scramSha256(PASSWORD, h.salt, h.iterations);
    assert.equal(enc(right.storedKey), h.storedKey, `${who}: StoredKey`);
    assert.equal(enc(right.serverKey), h.serverKey, `${who}: ServerKey`);
    assert.notEqual(enc(scramSha256("wrong guess", h.salt, h.iterations).storedKey), h.storedKey, `${who}: a wrong password`);
  }
});

test("the salt cannot be computed from the address and a guessed password: a guess cannot be checked against it", () => {
  // The shortcut of old: the salt as an HMAC of address and password under a key in podkit's source.
  const publicShortcut = (key: string) => createHmac("sha256", key).update(`${ADDRESS}\0${PASSWORD}`).digest();
  assert.notDeepEqual(publicShortcut("podkit/dovecot-salt").subarray(0, 16), pod.dovecot.salt, "Dovecot's salt is not the public HMAC of address and password");
  assert.ok(!pod.prosody.salt.replace(/-/g, "").startsWith(publicShortcut("podkit/prosody-salt").toString("hex").slice(0, 8)), "nor is Prosody's");
  // Whatever the recipe, the salt depends on something only the pod's secrets hold: two pods
  // with the same address and password, and different generated secrets, store different salts.
  const other = storedHashes();
  assert.notDeepEqual(other.dovecot.salt, pod.dovecot.salt, "Dovecot: same address and password, another pod, another salt");
  assert.notEqual(other.prosody.salt, pod.prosody.salt, "Prosody: same address and password, another pod, another salt");
});

test("an unchanged pod stores unchanged hashes, and two accounts never share a salt", () => {
  const secrets = new Map<string, string>();
  const lookup = (name: string) => {
    if (!secrets.has(name)) secrets.set(name, name.endsWith("-password") ? PASSWORD : randomBytes(32).toString("base64url"));
    return secrets.get(name);
  };
  const users = () => mail.state(roleContext(stack, "mx", lookup, profileOf(stack, "mx"))).files.find((f) => f.path === "/etc/dovecot/users")!.content;
  const first = users();
  assert.equal(users(), first, "rendered twice from the same secrets: the same file (a no-op apply stays a no-op)");
  const salts = first.trim().split("\n").map((l) => l.split(",")[1]);
  assert.equal(new Set(salts).size, salts.length, `one salt per account, even with one password: ${salts.join(" ")}`);
});
