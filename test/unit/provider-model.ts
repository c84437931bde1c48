// How the real providers answer, as far as podkit's program can tell: what
// each one stores for the inputs it is given (Hetzner trims an SSH key,
// Cloudflare stores a null SRV target as ""), what it computes (addresses,
// numeric ids, device paths), and which input changes make it replace a
// resource instead of updating it (the providers' ForceNew fields). The mocks
// (pulumi-mocks.ts) answer with it, and planOf compares two runs the way the
// engine does: new inputs against the state the provider stored last time.
// Sources: terraform-provider-hcloud and terraform-provider-cloudflare schemas
// behind @pulumi/hcloud 1.41 and @pulumi/cloudflare 6.x, and the issues this
// file's tests were written after.

// How the mock monitor hands over a secret value: wrapped in an object with this signature.
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export const isSecretWrapper = (v: unknown): v is { value: unknown } =>
  !!v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;

/** The value with every secret wrapper removed: what the provider gets. */
export function unwrap(v: unknown): unknown {
  if (isSecretWrapper(v)) return unwrap(v.value);
  if (Array.isArray(v)) return v.map(unwrap);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, unwrap(x)]));
  return v;
}

/**
 * What the provider stores for these inputs (before anything it computes).
 * The next run's inputs are compared with this as they are: a provider that
 * stores a value other than the one it was given reports a change every run.
 */
export function normalise(type: string, inputs: Record<string, any>): Record<string, any> {
  switch (type) {
    case "hcloud:index/sshKey:SshKey":
      // Hetzner stores the key line without the trailing newline.
      return { ...inputs, publicKey: typeof inputs.publicKey === "string" ? inputs.publicKey.trim() : inputs.publicKey };
    case "hcloud:index/primaryIp:PrimaryIp":
      // Until August 2026 the API answers "server" for an unassigned address, then "unassigned".
      return { assigneeType: "server", ...inputs };
    case "cloudflare:index/dnsRecord:DnsRecord": {
      const out: Record<string, any> = { ...inputs, name: String(inputs.name).toLowerCase() };
      // The API keeps no "." target: a null SRV record comes back with an empty one.
      if (inputs.type === "SRV" && inputs.data?.target === ".") out.data = { ...inputs.data, target: "" };
      return out;
    }
    default:
      return inputs;
  }
}

/**
 * Input properties whose change replaces the resource (ForceNew), by type.
 * Anything else the provider updates in place (serverType resizes, names and
 * labels are renamed, a volume grows).
 */
export const REPLACED_ON: Record<string, string[]> = {
  "hcloud:index/server:Server": ["image", "location", "userData", "sshKeys", "datacenter"],
  "hcloud:index/primaryIp:PrimaryIp": ["type", "location", "datacenter"],
  "hcloud:index/volume:Volume": ["location", "format"],
  "hcloud:index/volumeAttachment:VolumeAttachment": ["volumeId", "serverId"],
  "hcloud:index/sshKey:SshKey": ["publicKey"],
  "hcloud:index/rdns:Rdns": ["serverId", "primaryIpId", "ipAddress"],
  "tls:index/privateKey:PrivateKey": ["algorithm", "rsaBits", "ecdsaCurve"],
  "cloudflare:index/dnsRecord:DnsRecord": ["zoneId"],
};

export interface RunResource {
  type: string;
  name: string;
  inputs: Record<string, any>;
  state: Record<string, any>;
  id: string;
  custom: boolean;
  protect: boolean;
  ignoreChanges: string[];
}

export type Operation = "same" | "create" | "update" | "replace" | "delete";

export interface Step {
  op: Operation;
  type: string;
  name: string;
  /** Input properties that differ from the stored state. */
  changed: string[];
  /** A protected resource the engine would refuse to replace or delete. */
  refused: boolean;
}

export const keyOf = (r: { type: string; name: string }) => `${r.type}::${r.name}`;

const same = (a: unknown, b: unknown) => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, canonical(o[k])]));
  }
  return v;
}

/** Input properties of `next` that differ from what the provider stored in `prev`, ignoreChanges left out. */
export function changedInputs(prev: RunResource, next: RunResource): string[] {
  const stored = unwrap(prev.state) as Record<string, unknown>;
  return Object.keys(next.inputs).filter((k) => next.inputs[k] !== undefined && !next.ignoreChanges.includes(k) && !same(next.inputs[k], stored[k]));
}

/** The engine's plan for run 2 given the state run 1 left: one step per custom resource. */
export function planOf(run1: RunResource[], run2: RunResource[]): Step[] {
  const before = new Map(run1.filter((r) => r.custom).map((r) => [keyOf(r), r]));
  const steps: Step[] = [];
  for (const r of run2.filter((x) => x.custom)) {
    const prev = before.get(keyOf(r));
    before.delete(keyOf(r));
    if (!prev) {
      steps.push({ op: "create", type: r.type, name: r.name, changed: [], refused: false });
      continue;
    }
    const changed = changedInputs(prev, r);
    const replaces = changed.some((k) => (REPLACED_ON[r.type] ?? []).includes(k));
    const op: Operation = changed.length === 0 ? "same" : replaces ? "replace" : "update";
    steps.push({ op, type: r.type, name: r.name, changed, refused: op === "replace" && prev.protect });
  }
  for (const r of before.values()) steps.push({ op: "delete", type: r.type, name: r.name, changed: [], refused: r.protect });
  return steps;
}
