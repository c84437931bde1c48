// Must show 3: a certificate for a lab host name is obtained from the lab CA (pebble) over
// ACME HTTP-01, the token served from the lab host itself on port 80, and its chain
// verifies against the lab root, outside and inside the lab hosts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as https from "node:https";
import { X509Certificate } from "node:crypto";
import { after, before, test } from "node:test";
import * as acme from "acme-client";
import type { LabState } from "../../lib/lab/state";
import { ensureLab, onHost } from "./helpers";

// The backup host: a and b run the pods, whose nginx holds port 80.
const HOST = "backup";
const WEBROOT = "/srv/podkit-lab-acme";
let state: LabState;
let httpdPid = "";
let chain: X509Certificate[] = [];
let pem = "";

/** Splits a PEM bundle into certificates, leaf first. */
function certs(bundle: string): X509Certificate[] {
  return (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((c) => new X509Certificate(c));
}

before(async () => {
  state = await ensureLab();
  // A tiny web server on the lab host for the HTTP-01 token (busybox is in the base tree).
  const r = await onHost(state, HOST, `mkdir -p ${WEBROOT}/.well-known/acme-challenge && { setsid busybox httpd -f -p 80 -h ${WEBROOT} </dev/null >/dev/null 2>&1 & echo $!; }`);
  assert.equal(r.code, 0, r.stderr);
  httpdPid = r.stdout.trim();
});

after(async () => {
  if (httpdPid) await onHost(state, HOST, `kill ${httpdPid}; rm -rf ${WEBROOT}`);
});

test("the lab CA issues a certificate for a lab host name after validating HTTP-01 on the host itself", { timeout: 60_000 }, async (t) => {
  const fqdn = state.hosts[HOST].fqdn;
  // Pebble's HTTPS listener is signed by the lab CA: trust exactly the lab's bundle, nothing else.
  acme.axios.defaults.httpsAgent = new https.Agent({ ca: fs.readFileSync(state.acme.trustBundlePath) });
  const client = new acme.Client({ directoryUrl: state.acme.directory, accountKey: await acme.crypto.createPrivateKey() });
  const [, csr] = await acme.crypto.createCsr({ commonName: fqdn, altNames: [fqdn] });
  const served: string[] = [];
  const started = Date.now();
  pem = await client.auto({
    csr,
    termsOfServiceAgreed: true,
    challengePriority: ["http-01"],
    // The client cannot resolve lab names through the outer resolver; pebble checks anyway.
    skipChallengeVerification: true,
    challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
      assert.equal(challenge.type, "http-01");
      const r = await onHost(state, HOST, `printf %s '${keyAuthorization}' > ${WEBROOT}/.well-known/acme-challenge/${challenge.token}`);
      assert.equal(r.code, 0, r.stderr);
      served.push(challenge.token);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      await onHost(state, HOST, `rm -f ${WEBROOT}/.well-known/acme-challenge/${challenge.token}`);
    },
  });
  t.diagnostic(`certificate for ${fqdn} issued in ${((Date.now() - started) / 1000).toFixed(2)} s`);
  assert.equal(served.length, 1, "exactly one HTTP-01 token was served from the lab host");
  chain = certs(pem);
  assert.ok(chain.length >= 2, `expected leaf + intermediate, got ${chain.length} certificates`);
  assert.equal(chain[0].checkHost(fqdn), fqdn, `the certificate is not valid for ${fqdn}: ${chain[0].subjectAltName}`);
});

test("the issued chain verifies up to the lab root in the state file, and not to another root", () => {
  assert.ok(chain.length >= 2, "no certificate was issued");
  const root = new X509Certificate(fs.readFileSync(state.acme.rootCertPath));
  for (let i = 0; i + 1 < chain.length; i++) {
    assert.ok(chain[i].checkIssued(chain[i + 1]), `certificate ${i} is not issued by certificate ${i + 1}`);
    assert.ok(chain[i].verify(chain[i + 1].publicKey), `signature of certificate ${i} does not verify`);
  }
  const top = chain[chain.length - 1];
  assert.ok(top.checkIssued(root) && top.verify(root.publicKey), "the chain does not end at the lab root");
  assert.ok(root.verify(root.publicKey), "the lab root is not self-signed");
  // The listener CA (a different root) must not verify it: the check above can fail.
  const other = new X509Certificate(fs.readFileSync(state.acme.listenerCaPath));
  assert.ok(!top.verify(other.publicKey), "the chain verifies against an unrelated root");
});

test("lab hosts trust the lab root: openssl on host b verifies the chain with the system store", async () => {
  assert.ok(pem, "no certificate was issued");
  const [leaf, ...intermediates] = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
  const r = await onHost(state, "b", `d=$(mktemp -d); printf '%s\\n' '${leaf}' > $d/leaf.pem; printf '%s\\n' '${intermediates.join("\n")}' > $d/chain.pem; openssl verify -untrusted $d/chain.pem $d/leaf.pem; rc=$?; rm -rf $d; exit $rc`);
  assert.equal(r.code, 0, `openssl verify on b: ${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /leaf\.pem: OK/);
});
