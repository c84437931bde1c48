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

/** The configured key if there is one, else a generated one (the component "dkim"). */
export function dkimKey(config: pulumi.Config, opts?: pulumi.ComponentResourceOptions): DkimKey {
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
  return new GeneratedDkimKey("dkim", { rsaBits: 2048 }, opts);
}

export interface GeneratedDkimKeyArgs {
  /** RSA key size. */
  rsaBits: number;
}

/** A DKIM key generated once and kept in Pulumi state. */
export class GeneratedDkimKey extends pulumi.ComponentResource implements DkimKey {
  readonly privateKeyPem: pulumi.Output<string>;
  readonly publicKey: pulumi.Output<string>;
  readonly source = "generated" as const;

  constructor(name: string, args: GeneratedDkimKeyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("podkit:mail:DkimKey", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-key`, { algorithm: "RSA", rsaBits: args.rsaBits }, {
      parent: this,
      // Stacks from before this component have the key at the top level: the alias keeps it
      // (a new URN without it would replace the key, and with it the DKIM record every receiver checks).
      aliases: [{ parent: pulumi.rootStackResource }],
      // Every receiver checks mail against the published key: `pulumi destroy` and a
      // replacement leave it alone until `pulumi state unprotect` (docs/pulumi.md).
      protect: true,
    });
    this.privateKeyPem = pulumi.secret(key.privateKeyPemPkcs8);
    this.publicKey = key.publicKeyPem.apply(dkimPublicKey);
    this.registerOutputs({ publicKey: this.publicKey });
  }
}
