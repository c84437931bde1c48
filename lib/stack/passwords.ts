// Password hashes for the daemons, computed where the stack is read, so the
// plaintext password never reaches a host (only its hash does).
//
// Both daemons store SCRAM-SHA-256 (PBKDF2-HMAC-SHA256, RFC 7677 StoredKey and
// ServerKey). Two properties matter to anyone who gets hold of a hash (from
// /etc/dovecot/users, a Prosody account file, a backup, a rollback copy):
//
// - Iterations: PASSWORD_ITERATIONS, OWASP's floor for PBKDF2-HMAC-SHA256
//   (600,000; https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html).
//   Dovecot 2.3 and 2.4 accept 4096 to INT_MAX in a {SCRAM-SHA-256} entry
//   (SCRAM_MIN/MAX_ITERATE_COUNT); Prosody 0.12 and 13 read iteration_count
//   from the account file (at least 4096). What a login costs the host is in
//   roles/mail/README.md: Prosody (OpenSSL) about 0.2 s, Dovecot (its own
//   SHA-256) about 0.9 s of one core, per password login.
// - Salt: per account and unpredictable without the pod's secrets. It is an
//   HMAC, under the pod's random salt key (a generated secret kept with the
//   other secrets, never on a host), of the address and the password. So it
//   is stable (an unchanged stack writes unchanged files: a no-op apply stays
//   a no-op), new whenever the password changes, never shared by two
//   accounts, and useless to a guesser: without the salt key a guess cannot
//   be checked against the salt, only through the full PBKDF2 (a salt derived
//   from public data and the password would be a one-HMAC shortcut).
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

/** PBKDF2-HMAC-SHA256 rounds for every stored password (OWASP 2023 and later: 600,000). */
export const PASSWORD_ITERATIONS = 600_000;

/**
 * Where rendered hashes may be kept between runs (lib/stack/hash-cache.ts):
 * 600,000 rounds per account and daemon would cost every `podkit apply`,
 * a no-op one too, a fifth of a second per hash. Keyed by an HMAC under the
 * salt key, so the cache tells nothing to whoever lacks the pod's secrets.
 */
export interface HashCache {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

let hashCache: HashCache | undefined;

/** Keeps rendered hashes in `cache` from now on (undefined: in this process only). */
export function useHashCache(cache: HashCache | undefined): void {
  hashCache = cache;
}

function cachedEntry(saltKey: string, scheme: string, address: string, password: string, iterations: number, compute: () => string): string {
  if (!hashCache) return compute();
  const key = createHmac("sha256", saltKey).update(`podkit/hash-cache\0${scheme}\0${address}\0${password}\0${iterations}`).digest("base64url");
  const known = hashCache.get(key);
  if (known !== undefined) return known;
  const value = compute();
  hashCache.set(key, value);
  return value;
}

/** The per-account salt: 16 bytes, from the pod's secret salt key. */
export function accountSalt(saltKey: string, scheme: string, address: string, password: string): Buffer {
  if (!saltKey) throw new Error("the password salt key is empty");
  return createHmac("sha256", saltKey).update(`podkit/${scheme}\0${address}\0${password}`).digest().subarray(0, 16);
}

interface Scram {
  salted: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

// 600,000 rounds cost a fifth of a second: a process that renders the same
// account twice (preview, then up; a test) pays once.
const computed = new Map<string, Scram>();

/** RFC 5802/7677 SaltedPassword, StoredKey and ServerKey for SHA-256. */
export function scramSha256(password: string, salt: Buffer | string, iterations: number): Scram {
  const key = createHash("sha256").update(JSON.stringify([password, Buffer.from(salt).toString("base64"), iterations])).digest("base64");
  const known = computed.get(key);
  if (known) return known;
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const storedKey = createHash("sha256").update(createHmac("sha256", salted).update("Client Key").digest()).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  const result = { salted, storedKey, serverKey };
  computed.set(key, result);
  return result;
}

/**
 * Dovecot's {SCRAM-SHA-256} passwd-file entry, which Dovecot checks plaintext
 * logins against: iterations,salt,StoredKey,ServerKey (base64).
 * https://doc.dovecot.org/configuration_manual/authentication/password_schemes/
 */
export function dovecotScramSha256(address: string, password: string, saltKey: string, iterations = PASSWORD_ITERATIONS): string {
  return cachedEntry(saltKey, "dovecot", address, password, iterations, () => {
    const salt = accountSalt(saltKey, "dovecot", address, password);
    const { storedKey, serverKey } = scramSha256(password, salt, iterations);
    return `{SCRAM-SHA-256}${iterations},${salt.toString("base64")},${storedKey.toString("base64")},${serverKey.toString("base64")}`;
  });
}

/**
 * Prosody's internal_hashed account record with `password_hash = "SHA-256"`
 * (Prosody 0.12 and 13): SCRAM-SHA-256 keys in hex, the salt as Prosody's own
 * (a UUID-shaped string, used as the PBKDF2 salt as it stands).
 * https://prosody.im/doc/modules/mod_auth_internal_hashed
 */
export function prosodyScramSha256(address: string, password: string, saltKey: string, iterations = PASSWORD_ITERATIONS):
  { salt: string; iteration_count: number; stored_key: string; server_key: string } {
  return JSON.parse(cachedEntry(saltKey, "prosody", address, password, iterations, () => {
    const h = accountSalt(saltKey, "prosody", address, password).toString("hex");
    const salt = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
    const { storedKey, serverKey } = scramSha256(password, salt, iterations);
    return JSON.stringify({ salt, iteration_count: iterations, stored_key: storedKey.toString("hex"), server_key: serverKey.toString("hex") });
  }));
}
