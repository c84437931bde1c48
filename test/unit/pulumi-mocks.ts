// Pulumi's unit-test mocks for podkit's program: every resource registration and
// provider call is recorded, and resources answer the way the real providers
// would (provider-model.ts: what they store, trimmed or normalised, and what
// they compute: numeric Hetzner ids, the server's IPv6 being ::1 of its
// primary /64, real key material from node:crypto so fingerprints and DKIM
// records can be checked independently). Given the resources of an earlier
// run (`previous`), they answer as after that run: a resource whose inputs
// replace nothing keeps its id and what the provider computed, one that must
// be replaced gets new ones. Import the program only after `startMocks`:
// Pulumi reads mocks and config when resources are created.
import { createHash, createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ZoneRecord } from "../../lib/dns/conflicts";
import { changedInputs, isSecretWrapper, keyOf, normalise, REPLACED_ON, unwrap, type RunResource } from "./provider-model";

export interface Registered {
  type: string;
  name: string;
  /** Inputs as the provider would get them, secrets unwrapped. */
  inputs: Record<string, any>;
  /** Input names that arrived as Pulumi secrets. */
  secretInputs: Set<string>;
  /** A component (no provider behind it) or a custom resource. */
  custom: boolean;
  /** The parent's URN; "" for a resource at the top of the program. */
  parent: string;
  /** It names its top-level URN of old as an alias (`{ parent: pulumi.rootStackResource }`). */
  aliasedFromTop: boolean;
  /** Registered with `protect: true`: the engine refuses to delete or replace it. */
  protect: boolean;
  ignoreChanges: string[];
  id: string;
  state: Record<string, any>;
}

export interface Recorded {
  resources: Registered[];
  calls: { token: string; inputs: Record<string, any> }[];
  /** The real key pairs the tls mocks handed out, by resource name. */
  keys: Map<string, { publicKeyOpenssh: string; privateKeyOpenssh: string; publicKeyPem: string; privateKeyPem: string; privateKeyPemPkcs8: string }>;
  /** Zone ids the Cloudflare getZone mock answered, by zone name. */
  zoneIds: Map<string, string>;
}

/** "ssh-ed25519 AAAA..." for a node:crypto ed25519 public key. */
export function opensshEd25519(publicKeyDer: Buffer): string {
  const raw = publicKeyDer.subarray(publicKeyDer.length - 32);
  const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]).toString("base64")}`;
}

/**
 * An unencrypted OpenSSH private key ("openssh-key-v1", PROTOCOL.key in OpenSSH) for a
 * node:crypto ed25519 pair, as the tls provider's private_key_openssh gives it: a key
 * sshd can load, for the lab host that boots from the program's user data.
 */
export function opensshEd25519Private(publicKeyDer: Buffer, privateKeyDer: Buffer): string {
  const pub = publicKeyDer.subarray(publicKeyDer.length - 32);
  const seed = privateKeyDer.subarray(privateKeyDer.length - 32);
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
  const str = (b: Buffer | string) => { const x = Buffer.from(b); return Buffer.concat([u32(x.length), x]); };
  const pubBlob = Buffer.concat([str("ssh-ed25519"), str(pub)]);
  const check = u32(randomBytes(4).readUInt32BE());
  let priv = Buffer.concat([check, check, str("ssh-ed25519"), str(pub), str(Buffer.concat([seed, pub])), str("")]);
  // Padded with 1, 2, 3, ... to the cipher's block size (8 for "none").
  const pad = (8 - (priv.length % 8)) % 8;
  priv = Buffer.concat([priv, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from("openssh-key-v1\0"), str("none"), str("none"), str(""), u32(1), str(pubBlob), str(priv)]).toString("base64");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body.match(/.{1,70}/g)!.join("\n")}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

function keyPair(algorithm: string) {
  if (algorithm === "RSA") {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    return {
      publicKeyOpenssh: "ssh-rsa (not used)",
      privateKeyOpenssh: "(not used)",
      publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
      privateKeyPem: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
      privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    };
  }
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    publicKeyOpenssh: `${opensshEd25519(publicKey.export({ type: "spki", format: "der" }))}\n`,
    privateKeyOpenssh: opensshEd25519Private(publicKey.export({ type: "spki", format: "der" }), privateKey.export({ type: "pkcs8", format: "der" })),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    privateKeyPemPkcs8: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

/**
 * What the mocks' newResource is not told: the parent and the aliases of each
 * registration, by resource name, taken from the request the monitor receives.
 */
const placement = new Map<string, { parent: string; aliasedFromTop: boolean; protect: boolean; ignoreChanges: string[] }>();
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: Record<string, any> } };
type AliasMessage = { hasSpec(): boolean; getSpec(): { getNoparent(): boolean } };
type Request = { getName(): string; getParent(): string; getAliasesList(): AliasMessage[]; getProtect(): boolean | undefined; getIgnorechangesList(): string[] };
const registerResource = MockMonitor.prototype.registerResource;
MockMonitor.prototype.registerResource = function (req: Request, callback: unknown) {
  placement.set(req.getName(), {
    parent: req.getParent(), aliasedFromTop: req.getAliasesList().some((a) => a.hasSpec() && a.getSpec().getNoparent()),
    protect: !!req.getProtect(), ignoreChanges: req.getIgnorechangesList(),
  });
  return registerResource.call(this, req, callback);
};

export interface MockOptions {
  /** The resources of the run before (as `pulumi up` left them): answer as the providers would now. */
  previous?: RunResource[];
  /** Records already in the Cloudflare zones (by zone name), besides those an earlier run created. */
  zoneRecords?: Record<string, ZoneRecord[]>;
}

export async function startMocks(stackName: string, config: Record<string, string>, secretKeys: string[], opts: MockOptions = {}): Promise<Recorded> {
  const rec: Recorded = { resources: [], calls: [], keys: new Map(), zoneIds: new Map() };
  const previous = new Map((opts.previous ?? []).map((r) => [keyOf(r), r]));
  // Ids and addresses of a later run continue after the earlier run's.
  let nextId = 1000 + (opts.previous?.length ?? 0) * 2;
  let nextV4 = 10 + (opts.previous?.length ?? 0);
  await pulumi.runtime.setMocks({
    newResource(args) {
      const inputs = unwrap(args.inputs) as Record<string, any>;
      const secretInputs = new Set(Object.keys(args.inputs).filter((k) => isSecretWrapper(args.inputs[k])));
      const stored = normalise(args.type, args.inputs);
      const prev = previous.get(keyOf(args));
      if (prev) {
        const where = placement.get(args.name);
        // Compared as the engine does: the new inputs as given against what the provider stored.
        const next = { ...prev, inputs, ignoreChanges: where?.ignoreChanges ?? [] };
        const replaced = changedInputs(prev, next).some((k) => (REPLACED_ON[args.type] ?? []).includes(k));
        if (!replaced) {
          // Updated in place (or unchanged): same id, what the provider computed stays.
          if (args.type === "tls:index/privateKey:PrivateKey") rec.keys.set(args.name, unwrap(prev.state) as any);
          return { id: args.custom === false ? undefined : prev.id, state: record(rec, args, inputs, secretInputs, prev.id, { ...prev.state, ...stored }) };
        }
      }
      const id = String(nextId++);
      let state: Record<string, any> = { ...stored };
      switch (args.type) {
        case "hcloud:index/primaryIp:PrimaryIp": {
          const n = nextV4++;
          state.ipAddress = inputs.type === "ipv4" ? `203.0.113.${n}` : `2001:db8:${n}::`;
          if (inputs.type === "ipv6") state.ipNetwork = `2001:db8:${n}::/64`;
          break;
        }
        case "hcloud:index/server:Server": {
          // The real server's addresses are those of the primary IPs it was given.
          const ip = (pid: number) => rec.resources.find((r) => r.type === "hcloud:index/primaryIp:PrimaryIp" && Number(r.id) === pid)?.state.ipAddress;
          const net = inputs.publicNets?.[0] ?? {};
          state.ipv4Address = ip(net.ipv4);
          state.ipv6Address = `${ip(net.ipv6)}1`;
          state.status = "running";
          break;
        }
        case "hcloud:index/volume:Volume":
          state.linuxDevice = `/dev/disk/by-id/scsi-0HC_Volume_${id}`;
          break;
        case "tls:index/privateKey:PrivateKey": {
          const k = keyPair(inputs.algorithm);
          rec.keys.set(args.name, k);
          state = { ...state, ...k };
          break;
        }
        case "cloudflare:index/dnsRecord:DnsRecord":
          return { id: randomBytes(16).toString("hex"), state: record(rec, args, inputs, secretInputs, randomBytes(16).toString("hex"), state) };
      }
      return { id: args.custom === false ? undefined : id, state: record(rec, args, inputs, secretInputs, id, state) };
    },
    call(args) {
      rec.calls.push({ token: args.token, inputs: unwrap(args.inputs) as Record<string, any> });
      if (args.token === "cloudflare:index/getZone:getZone") {
        const name = (args.inputs as any).filter?.name as string;
        // The same zone has the same id in every run.
        if (!rec.zoneIds.has(name)) rec.zoneIds.set(name, createHash("sha256").update(name).digest("hex").slice(0, 32));
        return { id: rec.zoneIds.get(name)!, name, status: "active" };
      }
      if (args.token === "cloudflare:index/getDnsRecords:getDnsRecords") {
        // What the zone holds: the planted records, and those the earlier run created (their comment says podkit).
        const zoneId = (args.inputs as any).zoneId as string;
        const zone = [...rec.zoneIds].find(([, id]) => id === zoneId)?.[0] ?? "";
        const created = (opts.previous ?? []).filter((r) => r.type === "cloudflare:index/dnsRecord:DnsRecord" && (unwrap(r.state) as any).zoneId === zoneId)
          .map((r) => { const st = unwrap(r.state) as any; return { id: r.id, name: st.name, type: st.type, content: st.content, priority: st.priority, comment: st.comment }; });
        return { results: [...(opts.zoneRecords?.[zone] ?? []), ...created] };
      }
      throw new Error(`unexpected provider call ${args.token}`);
    },
  }, "podkit", stackName, false);
  pulumi.runtime.setAllConfig(config, secretKeys);
  return rec;
}

function record(rec: Recorded, args: pulumi.runtime.MockResourceArgs, inputs: Record<string, any>, secretInputs: Set<string>, id: string, state: Record<string, any>) {
  const where = placement.get(args.name) ?? { parent: "", aliasedFromTop: false, protect: false, ignoreChanges: [] };
  rec.resources.push({ type: args.type, name: args.name, inputs, secretInputs, custom: args.custom !== false, ...where, id, state });
  return state;
}

/** Waits until no resource has been registered for a while: the program has finished. */
export async function settle(rec: Recorded, quietMs = 300, maxMs = 20_000): Promise<void> {
  const start = Date.now();
  let count = -1;
  while (Date.now() - start < maxMs) {
    if (rec.resources.length === count) return;
    count = rec.resources.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
  throw new Error("the program kept registering resources");
}

/** The value of an Output (mocks run as `pulumi up`, so every value is known). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => { resolve(v); return v; }));
}

/**
 * Each resource's dependencies (dependsOn and those of its Output inputs) as URNs, by
 * resource name, recorded from now on. The mocks hand newResource no options; only the
 * monitor sees them.
 */
export function recordDependencies(): Map<string, string[]> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as { MockMonitor: { prototype: Record<string, any> } };
  const dependencies = new Map<string, string[]>();
  const register = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (req: { getName(): string; getDependenciesList(): string[] }, callback: unknown) {
    dependencies.set(req.getName(), req.getDependenciesList());
    return register.call(this, req, callback);
  };
  return dependencies;
}

export const ofType = (rec: Recorded, type: string) => rec.resources.filter((r) => r.type === type);

export type Program = typeof import("../../index");

/** Runs the program the way Pulumi's Node.js host does: by loading index.ts (CommonJS). Call after startMocks. */
export function loadProgram(): Program {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("../../index") as Program;
}

/** The error the program stops with, if it does. */
export function programError(): Error | undefined {
  try {
    loadProgram();
    return undefined;
  } catch (e) {
    return e as Error;
  }
}

/** The secrets stacks/hetzner.yaml names, as `pulumi config set --secret podkit:<name>` would hold them. */
export const HETZNER_SECRETS: Record<string, string> = {
  "podkit:relay-password": "relay-pw-7Hq",
  "podkit:backup-passphrase": "correct horse battery staple",
  "podkit:sam-password": "sam-pw-1",
  "podkit:noor-password": "noor-pw-2",
  // Short, with a quote, a backslash and a letter JSON or a shell would treat specially:
  // the plain-state checks must find a secret whatever its length or characters.
  "podkit:kim-password": 'k"\\ü',
};

/**
 * The lines of a private key's PEM that are secret: an RSA private key holds its
 * public modulus, and lines of it are lines of the public key a DKIM record
 * publishes (base64 of the DER SubjectPublicKeyInfo). OpenSSH-format keys are
 * taken whole.
 */
export function privateKeyLines(pem: string): string[] {
  const lines = pem.split("\n").map((l) => l.trim()).filter((l) => l !== "" && !/^-----(BEGIN|END) /.test(l));
  let spki = "";
  try {
    spki = createPublicKey(pem).export({ type: "spki", format: "der" }).toString("base64");
  } catch {
    return lines;
  }
  return lines.filter((l) => !spki.includes(l));
}

/**
 * Where a secret value shows in what reaches a provider outside a Pulumi
 * secret: every string in the inputs that are not secret, searched for every
 * secret value as it is (no length floor, no JSON escaping in the way) and for
 * each line of a multi-line one (a PEM key's body lines). "resource input"
 * for each hit; empty when nothing leaks.
 */
export function plainLeaks(resources: Registered[], secretValues: string[]): string[] {
  const needles = [...new Set(secretValues.flatMap((v) => [v, ...v.split("\n").map((l) => l.trim())])
    .filter((n) => n !== "" && !/^-----(BEGIN|END) /.test(n)))];
  const leaks: string[] = [];
  const walk = (v: unknown, where: string): void => {
    if (typeof v === "string") {
      if (needles.some((n) => v.includes(n))) leaks.push(where);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
    else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
  };
  for (const r of resources) {
    for (const [k, v] of Object.entries(r.inputs)) if (!r.secretInputs.has(k)) walk(v, `${r.name} ${k}`);
  }
  return leaks;
}

/**
 * The start of a script that loads the program the way `pulumi up` does (mirrors
 * @pulumi/pulumi/cmd/run/run.js, 3.248, for a CommonJS project: its ts-node, its
 * options, our TypeScript); `root` (argv[2]) is the repository, `pulumi` the SDK.
 */
export const TSNODE_PREAMBLE = `
const path = require("path");
const root = process.argv[2];
process.chdir(root);
const pulumiDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [root] }));
const tsutils = require(path.join(pulumiDir, "tsutils.js"));
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
const compilerOptions = tsutils.loadTypeScriptCompilerOptions("tsconfig.json");
require(tsnodeRequire).register({
  compiler: typescriptRequire, transpileOnly: compilerOptions.noCheck, project: "tsconfig.json", skipProject: false,
  compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...compilerOptions },
});
const pulumi = require(path.join(pulumiDir, "index.js"));
`;
