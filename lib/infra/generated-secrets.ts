// The pod's generated secrets that are not keys (the password salt key, the
// TURN secret) under `pulumi up`. `podkit apply` keeps them in the stack's
// secrets file; here each is kept in Pulumi state, encrypted: the secret is
// the SHA-256 of a random Ed25519 private key made for it alone by the tls
// provider (already a dependency, no further provider needed), so it is
// random, made once and stable across runs. A pod brought up with
// `podkit apply` before keeps its values: set config secret podkit:<name> to
// the value from its secrets file, and that is used instead.
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { Stack } from "../stack/schema";
import { GENERATED, generatedSecretsFor } from "../stack/secrets";

/** The generated secrets the stack needs besides the DKIM key (lib/infra/dkim.ts), by name, as Pulumi secrets. */
export function generatedSecrets(stack: Stack, config: pulumi.Config, opts?: pulumi.ComponentResourceOptions): Record<string, pulumi.Output<string>> {
  const names = generatedSecretsFor(stack).filter((n) => n !== GENERATED.dkimKey);
  return Object.fromEntries(names.map((name) => [name, config.getSecret(name) ?? new GeneratedSecret(name, {}, opts).value]));
}

/** One random secret, made once and kept (encrypted) in Pulumi state. */
export class GeneratedSecret extends pulumi.ComponentResource {
  /** 256 bits, base64url: a Pulumi secret. */
  readonly value: pulumi.Output<string>;

  constructor(name: string, _args: Record<string, never>, opts?: pulumi.ComponentResourceOptions) {
    super("podkit:secrets:GeneratedSecret", name, {}, opts);
    const key = new tls.PrivateKey(`${name}-seed`, { algorithm: "ED25519" }, { parent: this });
    this.value = pulumi.secret(key.privateKeyPem.apply((pem) => secretFromSeed(name, pem)));
    this.registerOutputs({});
  }
}

/** The secret a seed key stands for: 256 bits, base64url. */
export function secretFromSeed(name: string, seedPem: string): string {
  return createHash("sha256").update(`podkit/${name}\0${seedPem}`).digest("base64url");
}
