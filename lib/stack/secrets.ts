// Secrets are named in the stack file (`password: { secret: alice-password }`)
// and their values kept elsewhere. Under `podkit apply` that is the stack's
// secrets file, `<stack>.secrets.yaml` beside it (mode 0600, never committed:
// .gitignore), or PODKIT_SECRET_<NAME> in the environment for CI systems that
// inject secrets that way. Under `pulumi up` it is Pulumi config (index.ts).
import { createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import type { Path } from "./problems";
import type { Stack } from "./schema";
import { newWireguardKey, tunnelHosts, wireguardKeySecret } from "./edge";

/** Secrets podkit generates itself rather than asking for. */
export const GENERATED = {
  /**
   * The DKIM signing key. Generated once, off the host, and kept with the other
   * secrets, so a rebuilt host signs with the same key the DNS already publishes.
   */
  dkimKey: "dkim-key",
  /**
   * The key the per-account password salts are made with (lib/stack/passwords.ts).
   * Never on a host: without it a stolen hash can only be attacked through the slow hash.
   */
  passwordSalt: "password-salt",
  /** The secret Prosody and coturn share for short-lived TURN credentials (XEP-0215). */
  turnSecret: "turn-secret",
} as const;

/** The generated secrets a stack needs: the DKIM key with mail, the salt key with accounts, the TURN secret with chat, a WireGuard key per tunnel host. */
export function generatedSecretsFor(stack: Stack): string[] {
  return [
    ...(stack.mail ? [GENERATED.dkimKey] : []),
    ...(Object.keys(stack.accounts).length ? [GENERATED.passwordSalt] : []),
    ...(stack.chat ? [GENERATED.turnSecret] : []),
    ...tunnelHosts(stack).map(wireguardKeySecret),
  ];
}

/** A new random value for a generated secret that is not a key: 256 bits. */
export function newRandomSecret(): string {
  return randomBytes(32).toString("base64url");
}

export interface SecretUse {
  name: string;
  path: Path;
}

/** Every secret the stack refers to, with where. */
export function secretUses(stack: Stack): SecretUse[] {
  const uses: SecretUse[] = [];
  const walk = (v: unknown, path: Path) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.secret === "string" && Object.keys(o).length === 1) uses.push({ name: o.secret, path });
      else for (const [k, x] of Object.entries(o)) walk(x, [...path, k]);
    }
  };
  walk(stack, []);
  return uses;
}

export function secretsFileFor(stackFile: string): string {
  return stackFile.replace(/(\.ya?ml)?$/, ".secrets.yaml");
}

export const envName = (secret: string) => `PODKIT_SECRET_${secret.toUpperCase().replace(/-/g, "_")}`;

export class SecretStore {
  private values: Record<string, string>;

  constructor(readonly file: string, private readonly env: NodeJS.ProcessEnv = process.env) {
    this.values = existsSync(file) ? readSecretsFile(file) : {};
  }

  get(name: string): string | undefined {
    return this.env[envName(name)] ?? this.values[name];
  }

  /** Names of the secrets in the file (never their values). */
  names(): string[] {
    return Object.keys(this.values);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Adds values to the secrets file (created 0600), keeping what is there. */
  add(values: Record<string, string>): void {
    this.values = { ...this.values, ...values };
    writeFileSync(this.file, `# podkit secrets: keep private, back up offline, never commit.\n${stringify(this.values)}`, { mode: 0o600 });
    chmodSync(this.file, 0o600);
  }
}

function readSecretsFile(file: string): Record<string, string> {
  const mode = statSync(file).mode & 0o777;
  if (mode & 0o077) {
    process.emitWarning(`${file} is readable by other users (mode ${mode.toString(8)}): chmod 600 ${file}`);
  }
  const data: unknown = parse(readFileSync(file, "utf8"));
  if (data === null || data === undefined) return {};
  if (typeof data !== "object" || Array.isArray(data)) throw new Error(`${file}: a secrets file is a mapping of secret name to value`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v !== "string" && typeof v !== "number") throw new Error(`${file}: secret "${k}" must be a text value`);
    out[k] = String(v);
  }
  return out;
}

/** Creates the secrets podkit generates (the DKIM key, the salt key, the TURN secret); with `all`, random values for every missing secret too (lab, workshops). */
export function ensureGeneratedSecrets(stack: Stack, store: SecretStore, opts: { all?: boolean } = {}): string[] {
  const created: Record<string, string> = {};
  for (const name of generatedSecretsFor(stack)) {
    if (!store.has(name)) created[name] = name === GENERATED.dkimKey ? newDkimKey() : name.startsWith(wireguardKeySecret("")) ? newWireguardKey() : newRandomSecret();
  }
  if (opts.all) {
    for (const { name } of secretUses(stack)) {
      if (!store.has(name) && !created[name]) created[name] = randomBytes(18).toString("base64url");
    }
  }
  if (Object.keys(created).length) store.add(created);
  return Object.keys(created);
}

export function newDkimKey(): string {
  // 2048 bits: what receivers expect today; 4096-bit keys overflow some DNS UIs.
  return generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** The p= value of a DKIM record: base64 of the public key's DER SubjectPublicKeyInfo. */
export function dkimPublicKey(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: "spki", format: "der" }).toString("base64");
}
