// Password hashes for the daemons, computed where the stack is read, so the
// plaintext password never reaches a host (only its hash does).
import { createHash, createHmac, pbkdf2Sync } from "node:crypto";

/**
 * Dovecot's {SCRAM-SHA-256} scheme (PBKDF2-SHA256, 4096 rounds, RFC 7677
 * StoredKey/ServerKey), which Dovecot checks plaintext logins against.
 * The salt is derived from the address and the password, not random: the
 * same password gives the same hash, so an unchanged stack changes no file
 * on the host, while two accounts never share a salt.
 * https://doc.dovecot.org/configuration_manual/authentication/password_schemes/
 */
export function dovecotScramSha256(address: string, password: string, iterations = 4096): string {
  const salt = createHmac("sha256", "podkit/dovecot-salt").update(`${address}\0${password}`).digest().subarray(0, 16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  const storedKey = createHash("sha256").update(clientKey).digest();
  const serverKey = createHmac("sha256", salted).update("Server Key").digest();
  return `{SCRAM-SHA-256}${iterations},${salt.toString("base64")},${storedKey.toString("base64")},${serverKey.toString("base64")}`;
}

/**
 * Prosody's internal_hashed account record (SCRAM-SHA-1, what Prosody 0.12
 * stores and what every XMPP client can log in with), for the same password.
 * As above, the salt comes from address and password, so an unchanged stack
 * writes an unchanged account file.
 * https://prosody.im/doc/modules/mod_auth_internal_hashed
 */
export function prosodyScramSha1(address: string, password: string, iterations = 10000) {
  const h = createHmac("sha256", "podkit/prosody-salt").update(`${address}\0${password}`).digest("hex");
  // Prosody's own salts are UUIDs; this one has the same shape.
  const salt = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  const salted = pbkdf2Sync(password, salt, iterations, 20, "sha1");
  const storedKey = createHash("sha1").update(createHmac("sha1", salted).update("Client Key").digest()).digest("hex");
  const serverKey = createHmac("sha1", salted).update("Server Key").digest("hex");
  return { salt, iteration_count: iterations, stored_key: storedKey, server_key: serverKey };
}
