// 600,000 PBKDF2 rounds per account and daemon would cost every `podkit apply`,
// a no-op one too, a fifth of a second each. The CLI keeps the hashes it
// rendered in a file of the user's own, keyed so that the file tells nothing
// without the pod's salt key, and a later run reads them from there.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileHashCache } from "../../lib/stack/hash-cache";
import { dovecotScramSha256, prosodyScramSha256, useHashCache } from "../../lib/stack/passwords";

test("a hash rendered once is read back from the cache file by a later run, which is private to its user", () => {
  const file = join(mkdtempSync(join(tmpdir(), "podkit-hashes-")), "podkit", "password-hashes.json");
  const saltKey = randomBytes(32).toString("base64url");
  const password = `pw-${randomBytes(6).toString("hex")}`;
  try {
    useHashCache(fileHashCache(file));
    const first = dovecotScramSha256("alice@a.test", password, saltKey);
    const prosody = prosodyScramSha256("alice@a.test", password, saltKey);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(join(file, "..")).mode & 0o777, 0o700);
    const text = readFileSync(file, "utf8");
    assert.ok(!text.includes(password) && !text.includes("alice"), "neither the password nor the address is in the file");

    // A later run (a new cache over the same file) takes what is there instead of computing:
    // an entry changed by hand is what it returns.
    const entries = JSON.parse(text) as Record<string, string>;
    const key = Object.keys(entries).find((k) => entries[k] === first)!;
    writeFileSync(file, JSON.stringify({ ...entries, [key]: "{SCRAM-SHA-256}from-the-cache" }), { mode: 0o600 });
    useHashCache(fileHashCache(file));
    assert.equal(dovecotScramSha256("alice@a.test", password, saltKey), "{SCRAM-SHA-256}from-the-cache");
    assert.deepEqual(prosodyScramSha256("alice@a.test", password, saltKey), prosody);
    // Another salt key (another pod, or the same pod's key replaced) finds nothing of it.
    assert.notEqual(dovecotScramSha256("alice@a.test", password, randomBytes(32).toString("base64url")), "{SCRAM-SHA-256}from-the-cache");
  } finally {
    useHashCache(undefined);
  }
});

test("a cache file others could read or write is not trusted", () => {
  const file = join(mkdtempSync(join(tmpdir(), "podkit-hashes-")), "password-hashes.json");
  const saltKey = randomBytes(32).toString("base64url");
  try {
    useHashCache(fileHashCache(file));
    const real = dovecotScramSha256("bob@b.test", "pw-bob", saltKey);
    const entries = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
    const key = Object.keys(entries)[0];
    writeFileSync(file, JSON.stringify({ [key]: "{SCRAM-SHA-256}planted" }));
    chmodSync(file, 0o666);
    useHashCache(fileHashCache(file));
    assert.equal(dovecotScramSha256("bob@b.test", "pw-bob", saltKey), real);
  } finally {
    useHashCache(undefined);
  }
});
