// The pod's DKIM signing key under `pulumi up`. It lives in Pulumi state
// (encrypted), not on the server, so a rebuilt server signs with the key DNS
// already publishes. A pod that was run with `podkit apply` before keeps its
// key: set config secret podkit:dkim-key to the PEM from its secrets file
// (same name), and that key is used instead of a generated one.
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { dkimPublicKey, GENERATED } from "../stack/secrets";

export interface DkimKey {
  /** PEM private key, a Pulumi secret: the mail role installs it. */
  privateKeyPem: pulumi.Output<string>;
  /** The p= value of the DKIM record (base64 DER SubjectPublicKeyInfo): public, not secret. */
  publicKey: pulumi.Output<string>;
  /** Where the key comes from, for the program's outputs. */
  source: "generated" | "config";
}

export function dkimKey(config: pulumi.Config, opts?: pulumi.CustomResourceOptions): DkimKey {
  const configured = config.getSecret(GENERATED.dkimKey);
  if (configured) {
    return {
      privateKeyPem: configured,
      // Derived from a secret, but a public key: unsecret it so DNS records stay readable in previews.
      publicKey: pulumi.unsecret(configured.apply(dkimPublicKey)),
      source: "config",
    };
  }
  // 2048 bits, as `podkit apply` generates: what receivers expect; 4096-bit keys overflow some DNS UIs.
  const key = new tls.PrivateKey("dkim-key", { algorithm: "RSA", rsaBits: 2048 }, opts);
  return {
    privateKeyPem: pulumi.secret(key.privateKeyPemPkcs8),
    publicKey: key.publicKeyPem.apply(dkimPublicKey),
    source: "generated",
  };
}
