// The check the Pulumi mock tests run over every resource's plain inputs
// (plainLeaks) finds a secret whatever its length or characters, and a private
// key by its secret lines only (an RSA key's public lines are in DNS anyway).
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { plainLeaks, privateKeyLines, type Registered } from "./pulumi-mocks";

const resource = (inputs: Record<string, unknown>, secret: string[] = []) =>
  ({ name: "r", inputs, secretInputs: new Set(secret) }) as unknown as Registered;

test("a short secret, or one with quotes, backslashes or non-ASCII letters, is found in a plain input", () => {
  for (const value of ['k"\\ü', "pw", "a\nb-line"]) {
    assert.deepEqual(plainLeaks([resource({ state: { files: { "/etc/x": { content: `x ${value} y` } } } })], [value]), ["r state.files./etc/x.content"], JSON.stringify(value));
  }
  assert.deepEqual(plainLeaks([resource({ secretFiles: { "/etc/x": 'k"\\ü' } }, ["secretFiles"])], ['k"\\ü']), [], "inside a secret input it is where it belongs");
});

test("a private key is found by its secret lines, not by the public modulus a DKIM record shows", () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const dkim = publicKey.export({ type: "spki", format: "der" }).toString("base64");
  assert.deepEqual(plainLeaks([resource({ content: `v=DKIM1; k=rsa; p=${dkim}` })], privateKeyLines(pem)), []);
  assert.equal(plainLeaks([resource({ content: pem })], privateKeyLines(pem)).length, 1);
});
