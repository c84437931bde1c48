// The tunnel's keys are made off-host (lib/stack/edge.ts) and their public halves
// written into the other side's wg-podkit.conf: they must be what `wg pubkey` prints,
// or the two sides never shake hands. Checked against RFC 7748's own X25519 vector
// (section 6.1), which is the function `wg pubkey` computes; no `wg` needed here.
import assert from "node:assert/strict";
import { test } from "node:test";
import { newWireguardKey, wireguardPublicKey } from "../../lib/stack/edge";

const b64 = (hex: string) => Buffer.from(hex, "hex").toString("base64");

test("a WireGuard public key is X25519 of the private key, as RFC 7748's test vector says", () => {
  const alice = b64("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  assert.equal(wireguardPublicKey(alice), b64("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"));
  const bob = b64("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  assert.equal(wireguardPublicKey(`${bob}\n`), b64("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), "a trailing newline, as a secrets file may hold it");
});

test("a new key is 32 random bytes in base64, new every time, and a wrong length is refused", () => {
  const k = newWireguardKey();
  assert.match(k, /^[A-Za-z0-9+/]{43}=$/);
  assert.notEqual(k, newWireguardKey());
  assert.throws(() => wireguardPublicKey(b64("00".repeat(31))), /32 bytes/);
});
