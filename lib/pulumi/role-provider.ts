// The provider of the role resource (role-resource.ts): what runs inside
// Pulumi's provider process. Creating or updating a role opens one pinned SSH
// session and runs the converge core on that one role, exactly as `podkit
// apply` would; `pulumi preview` compares the old desired state with the new
// one (never the host) and names what changes.
//
// The provider object below is not run in the program: Pulumi serializes it (its code
// and every value it captures) into the state, and the engine runs it in a
// separate Node.js process (@pulumi/pulumi/cmd/dynamic-provider), which loads
// that text with require-from-string. Three consequences shape this file:
//   - The provider captures no module object. Captured local modules would be
//     serialized by value (their whole code, node-ssh's included), so the
//     converge modules are require()d inside the methods, and only `import
//     type` refers to them at the top.
//   - A relative require ("../converge/apply") inside serialized code resolves
//     against the provider process's working directory (the module has no file
//     name), not against this file. So the paths are taken here, when the
//     program loads, relative to the project (the directory of Pulumi.yaml),
//     captured as plain strings (MODULES), and resolved in the provider against
//     the project directory Pulumi runs it in. Relative, so the state holds no
//     path of the machine that last ran `pulumi up` (a home directory, a user
//     name) and works from any checkout.
//   - That process has no TypeScript loader (no ts-node, no tsx): the converge
//     modules are .ts. tsx (a dependency) offers a scoped CommonJS require
//     that compiles them on the fly without hooking the whole process; its
//     path is resolved here too.
// delete uses the stored provider, so it requires nothing.
//
// A new server answers SSH before it is ready: each role first waits for SSH
// with the pinned key, then for cloud-init to finish (lib/converge/first-boot.ts),
// both bounded by bootWaitMs, and says what it waits for in the `pulumi up`
// output (the engine's log: pulumi.log has no engine in a dynamic provider).
//
// What goes into state: the desired state of non-secret files in clear (that
// is what makes a preview readable); secret files only as an HMAC keyed with
// the deploy key (names which secret file changed, reveals nothing, not even to
// a dictionary attack on a weak password), their content in the `secretFiles`
// input, a Pulumi secret; the private key a secret input and secret output.
// Outputs hold fingerprints of the desired state, not the state again.
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import type { HostReport } from "../converge/apply";
import type { HostTarget } from "../ssh/connect";
import type { FileSpec, RoleState } from "../converge/types";
import type { DetectableFacts } from "../stack/profile";

/** The project directory (where Pulumi.yaml is): what MODULES are relative to. */
const PROJECT = path.join(__dirname, "..", "..");
const fromProject = (p: string) => path.relative(PROJECT, p).split(path.sep).join("/");

/** Paths the provider requires by, relative to the project, resolved in the program's process (see the top of this file). */
const MODULES = {
  tsx: fromProject(require.resolve("tsx/cjs/api")),
  apply: "lib/converge/apply",
  ssh: "lib/converge/ssh",
  hostFacts: "lib/converge/host-facts",
  firstBoot: "lib/converge/first-boot",
  grpc: fromProject(require.resolve("@grpc/grpc-js")),
  engineRpc: fromProject(require.resolve("@pulumi/pulumi/proto/engine_grpc_pb")),
  engineProto: fromProject(require.resolve("@pulumi/pulumi/proto/engine_pb")),
};

/**
 * The facts an existing host's roles were rendered for (nothing could look at
 * the host before): converge checks them against what the host says it is.
 */
export interface RenderedFor {
  facts: DetectableFacts;
  /** The facts the stack declares: they stand whatever the host says. */
  declared: Partial<DetectableFacts>;
  /** Where the stack declares them ("hosts.box.existing.profile"). */
  field: string;
}

/** A file as it is kept in state: the content for ordinary files, an HMAC of it for secret ones. */
export interface FileInput {
  content?: string;
  /** HMAC-SHA256 of a secret file's content, keyed with the deploy key. */
  contentHmac?: string;
  mode?: number;
  owner?: string;
  group?: string;
  secret?: boolean;
}

/** A RoleState as a resource input: files keyed by path, so a preview names the file that changes. */
export type StateInput = Omit<RoleState, "files"> & { files: Record<string, FileInput> };

/**
 * The edge a box is reached through (`hosts.box.edge`): its own SSH address, pin
 * and key. A plain object, serialized into the inputs as the rest is: a secret as
 * a whole (it holds the edge's key).
 */
export interface JumpTarget {
  host: string;
  address: string;
  port: number;
  user: string;
  hostKey: string;
  /** The edge's login key (secret). */
  privateKey: string;
}

/** Which role on which machine, and how to reach it: in the inputs, and kept in the outputs for delete. */
export interface RoleTarget {
  /** Host name in the stack ("mx") and role ("mail"), for messages. */
  host: string;
  role: string;
  address: string;
  port: number;
  user: string;
  /** The pin Session.open checks: a key line, or "SHA256:..." when only that is known. */
  hostKey: string;
  /** The pinned key's fingerprint: with machineId, what the machine is. */
  hostKeyFingerprint: string;
  machineId?: string;
  /** How long SSH may refuse or time out before converge gives up: a new server may still be booting. */
  bootWaitMs?: number;
  /** Deploy key (secret). */
  privateKey: string;
  /** For a box behind an edge: the edge, through which `address` (the box's tunnel address) is reached. */
  via?: JumpTarget;
  /** For a box behind an edge: its own SSH address, tried once when the tunnel does not answer (before its first converge). */
  direct?: { address: string; port: number };
}

export interface RoleInputs extends RoleTarget {
  state: StateInput;
  /** Set for existing hosts: the profile the state was rendered for, checked on the host before anything changes. */
  renderedFor?: RenderedFor;
  /** Content of secret files by path (secret). */
  secretFiles: Record<string, string>;
}

export interface RoleOutputs extends RoleTarget {
  /** Fingerprint of each part of the desired state, by its property path ("state.files[\"/etc/hostname\"]"). */
  fingerprints: Record<string, string>;
  /** One hash of the whole desired state. */
  stateHash: string;
  /** What the last converge changed on the host ("+pkg nginx", "/etc/nginx/nginx.conf", "reload nginx.service"). */
  changed: string[];
}

/** How a property differs, as the engine's detailed diffs say it. */
export interface PropertyDiff {
  kind: "add" | "delete" | "update";
  inputDiff: boolean;
}

/**
 * The dynamic provider host of @pulumi/pulumi 3.248 forwards only `changes`,
 * `replaces` and `deleteBeforeReplace`; `detailedDiff` is kept for tests and for
 * hosts that forward it. The preview's property diff comes from the engine
 * comparing old and new inputs, keyed the same way (state.files["/etc/..."]).
 */
export type RoleDiff = pulumi.dynamic.DiffResult & { detailedDiff: Record<string, PropertyDiff> };

// ---- Pure helpers, serialized with the provider (no captured imports) ----------
// They are not exported: tsc's CommonJS emit (what `pulumi up` runs, through
// ts-node) calls an exported function as `exports.f(...)`, which would capture
// this whole module with it. Tests reach them
// through `forTests`, which the provider never refers to.

/** JSON with sorted keys and undefined left out: equal values, equal text, whatever the key order (state goes through Go maps). */
function canonicalJson(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : walk(x)));
    if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      return Object.fromEntries(Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => [k, walk(o[k])]));
    }
    return v;
  };
  return JSON.stringify(walk(value));
}

function sha256(text: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHash } = require("node:crypto") as typeof import("node:crypto");
  return createHash("sha256").update(text).digest("hex");
}

/** The identity of an element of a RoleState list: its path, unit or name. */
function elementKey(v: unknown): string | undefined {
  if (!v || typeof v !== "object") return undefined;
  const o = v as Record<string, unknown>;
  for (const k of ["path", "unit", "name"]) if (typeof o[k] === "string") return o[k] as string;
  return undefined;
}

/**
 * A fingerprint per part of the desired state, keyed by property path: each
 * file, each service, dir, check, handler or user by its identity, other
 * fields whole, and "machine" for which machine it is. Computed from the
 * public inputs only: secret files count through their HMAC.
 */
function fingerprintsOf(inputs: Pick<RoleInputs, "state" | "hostKeyFingerprint" | "machineId">): Record<string, string> {
  const out: Record<string, string> = { machine: sha256(canonicalJson([inputs.hostKeyFingerprint, inputs.machineId])) };
  const state = inputs.state as unknown;
  if (!state || typeof state !== "object") {
    out.state = sha256(canonicalJson(state)); // unknown during a preview
    return out;
  }
  for (const [field, value] of Object.entries(state as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (field === "files" && value && typeof value === "object" && !Array.isArray(value)) {
      for (const [p, f] of Object.entries(value as Record<string, unknown>)) out[`state.files[${JSON.stringify(p)}]`] = sha256(canonicalJson(f));
      continue;
    }
    const keys = Array.isArray(value) ? value.map(elementKey) : [];
    if (keys.length && keys.every((k) => k !== undefined) && new Set(keys).size === keys.length) {
      (value as unknown[]).forEach((el, i) => { out[`state.${field}[${JSON.stringify(keys[i])}]`] = sha256(canonicalJson(el)); });
    } else {
      out[`state.${field}`] = sha256(canonicalJson(value));
    }
  }
  return out;
}

/** The parts that differ between two fingerprint sets. */
function changedParts(olds: Record<string, string>, news: Record<string, string>): Record<string, PropertyDiff> {
  const diff: Record<string, PropertyDiff> = {};
  for (const k of new Set([...Object.keys(olds), ...Object.keys(news)])) {
    if (olds[k] === news[k]) continue;
    diff[k] = { kind: olds[k] === undefined ? "add" : news[k] === undefined ? "delete" : "update", inputDiff: true };
  }
  return diff;
}

/** The RoleState converge gets back from the inputs (secret files with their content). */
function roleStateOf(inputs: RoleInputs): RoleState {
  const { files, ...rest } = inputs.state;
  return {
    ...rest,
    files: Object.entries(files ?? {}).map(([p, f]): FileSpec => {
      const { contentHmac: _hmac, content, ...meta } = f;
      if (!f.secret) return { path: p, content: content ?? "", ...meta };
      const secret = inputs.secretFiles?.[p];
      if (secret === undefined) throw new Error(`${inputs.host}/${inputs.role}: no content for secret file ${p}`);
      return { path: p, content: secret, ...meta };
    }),
  };
}

/** An error message with every secret the inputs hold blanked out (checker output may quote a config line). */
function redact(message: string, inputs: RoleInputs): string {
  const secrets = [inputs.privateKey, inputs.via?.privateKey, ...Object.values(inputs.secretFiles ?? {})]
    .flatMap((s) => (typeof s === "string" ? s.split("\n") : []))
    .map((l) => l.trim())
    .filter((l) => l.length >= 8 && !l.startsWith("-----"));
  return secrets.reduce((m, s) => m.split(s).join("[secret]"), message);
}

/**
 * A module path of MODULES in the provider's process, whose working directory
 * is the project: Pulumi's shim for dynamic providers starts
 * ./node_modules/@pulumi/pulumi/cmd/dynamic-provider from there.
 */
function projectPath(relative: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const p = require("node:path") as typeof import("node:path");
  return p.resolve(process.cwd(), relative);
}

/**
 * A line in the `pulumi up` output. The dynamic provider process is started
 * with the engine's address as its argument; outside it (tests), stderr.
 */
function say(message: string): void {
  const engine = process.argv[2];
  if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(engine ?? "")) {
    console.error(message);
    return;
  }
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const grpc = require(projectPath(MODULES.grpc));
    const { EngineClient } = require(projectPath(MODULES.engineRpc));
    const { LogRequest, LogSeverity } = require(projectPath(MODULES.engineProto));
    /* eslint-enable @typescript-eslint/no-require-imports */
    const client = new EngineClient(engine, grpc.credentials.createInsecure());
    const req = new LogRequest();
    req.setSeverity(LogSeverity.INFO);
    req.setMessage(message);
    client.log(req, () => client.close());
  } catch {
    console.error(message);
  }
}

/** Opens one pinned session to the host and converges the role; returns the outputs to store. */
async function converge(inputs: RoleInputs): Promise<RoleOutputs> {
  // Loaded here, not at the top: see the top of this file.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tsx = require(projectPath(MODULES.tsx)) as { require: (id: string, from: string) => unknown };
  const load = (m: string) => tsx.require(projectPath(m), projectPath(m));
  const { Session } = load(MODULES.ssh) as typeof import("../converge/ssh");
  const { convergeHost } = load(MODULES.apply) as typeof import("../converge/apply");
  const { waitForFirstBoot } = load(MODULES.firstBoot) as typeof import("../converge/first-boot");
  const { profileMismatches } = load(MODULES.hostFacts) as typeof import("../converge/host-facts");
  const renderedFor = inputs.renderedFor;
  // The host must be what the state was rendered for: a config for another kind of machine never goes on it.
  const onHost = renderedFor && ((facts: import("../converge/host-facts").HostFacts | undefined) => {
    const differ = facts ? profileMismatches(renderedFor.facts, facts, renderedFor.declared, renderedFor.field) : [];
    if (differ.length) throw new Error(`the host is not what the stack says, so its roles were rendered for another machine: ${differ.join("; ")}`);
    return [roleStateOf(inputs)];
  });
  const via = inputs.via;
  const target: HostTarget = {
    name: inputs.host, address: inputs.address, port: inputs.port, user: inputs.user,
    hostKey: inputs.hostKey, privateKey: inputs.privateKey,
    ...(via ? { via: { name: via.host, address: via.address, port: via.port, user: via.user, hostKey: via.hostKey, privateKey: via.privateKey } } : {}),
    ...(inputs.direct ? { direct: inputs.direct } : {}),
  };
  let report: HostReport;
  try {
    // Retries only what a booting host answers (refused, reset, timed out); never a wrong host key.
    const bootWaitMs = inputs.bootWaitMs ?? 0;
    const started = Date.now();
    const session = await Session.open(target, { attemptTimeoutMs: 15000, waitMs: bootWaitMs, retryEveryMs: 2000, say: (m) => say(`${inputs.role}: ${m}`) });
    try {
      // A machine podkit created may still be in its first boot: what is left of the same bound.
      if (bootWaitMs > 0) {
        await waitForFirstBoot(session, {
          host: inputs.host, timeoutMs: Math.max(60_000, bootWaitMs - (Date.now() - started)), say: (m) => say(`${inputs.role}: ${m}`),
        });
      }
      // The host's lock, as apply takes it: the roles of one host wait for each other, and for an admin's apply.
      report = await convergeHost(session, [roleStateOf(inputs)], { onHost, lock: { what: `pulumi ${inputs.role}`, waitS: 1800, say: (m) => say(`${inputs.role}: ${m}`) } });
    } finally {
      session.close();
    }
  } catch (err) {
    throw new Error(redact((err as Error).message, inputs));
  }
  const fingerprints = fingerprintsOf(inputs);
  return {
    host: inputs.host, role: inputs.role, address: inputs.address, port: inputs.port, user: inputs.user,
    hostKey: inputs.hostKey, hostKeyFingerprint: inputs.hostKeyFingerprint, machineId: inputs.machineId, bootWaitMs: inputs.bootWaitMs,
    privateKey: inputs.privateKey,
    ...(inputs.via ? { via: inputs.via } : {}),
    ...(inputs.direct ? { direct: inputs.direct } : {}),
    fingerprints,
    stateHash: sha256(canonicalJson(fingerprints)),
    changed: report.roles.flatMap((r) => r.changes),
  };
}

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // Pulumi's wire value for "known after apply"

export const roleProvider = {
  async check(_olds: RoleInputs, news: RoleInputs): Promise<pulumi.dynamic.CheckResult<RoleInputs>> {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    const need = (property: keyof RoleInputs, ok: boolean, reason: string) => {
      if (news[property] !== UNKNOWN && !ok) failures.push({ property, reason });
    };
    need("address", typeof news.address === "string" && news.address.length > 0, "the host's SSH address is empty");
    need("port", Number.isInteger(news.port) && news.port > 0 && news.port < 65536, `port ${news.port} is not a TCP port`);
    need("hostKey", typeof news.hostKey === "string" && /^(ssh-|ecdsa-|SHA256:)/.test(news.hostKey), "no pinned host key: podkit never accepts an unknown one");
    // Never the value itself in a message: inputs arrive decrypted.
    need("privateKey", typeof news.privateKey === "string" && news.privateKey.includes("PRIVATE KEY"), "no SSH private key to log in with");
    const via = news.via as JumpTarget | string | undefined;
    if (via !== undefined && via !== UNKNOWN && typeof via === "object") {
      need("via", typeof via.hostKey === "string" && /^(ssh-|ecdsa-|SHA256:)/.test(via.hostKey), `no pinned host key for the edge ${via.host}: podkit never accepts an unknown one`);
      need("via", typeof via.privateKey === "string" && via.privateKey.includes("PRIVATE KEY"), `no SSH private key to log in to the edge ${via.host} with`);
    }
    return { inputs: news, failures };
  },

  /**
   * Changes when the desired state differs, or the machine does: a new server
   * (machineId) or a new pinned host key means a different or reinstalled
   * machine with none of the role on it. A new address, port, user or deploy
   * key alone is the same machine reached differently: nothing to converge
   * (the next real change runs with them). Never a replacement: there is
   * nothing to delete, and converge brings any host to the state.
   */
  async diff(_id: string, olds: RoleOutputs, news: RoleInputs): Promise<RoleDiff> {
    const detailedDiff = changedParts(olds.fingerprints ?? {}, fingerprintsOf(news));
    return { changes: Object.keys(detailedDiff).length > 0, replaces: [], deleteBeforeReplace: false, detailedDiff };
  },

  async create(inputs: RoleInputs): Promise<pulumi.dynamic.CreateResult<RoleOutputs>> {
    return { id: `${inputs.host}/${inputs.role}`, outs: await converge(inputs) };
  },

  async update(_id: string, _olds: RoleOutputs, news: RoleInputs): Promise<pulumi.dynamic.UpdateResult<RoleOutputs>> {
    return { outs: await converge(news) };
  },

  /**
   * Leaves the host as it is. A role removed from the stack stays installed
   * until its removal step exists; a Hetzner server is deleted by hcloud
   * anyway; an existing host is not podkit's to wipe.
   */
  async delete(_id: string, _props: RoleOutputs): Promise<void> {},

  // No read: `pulumi refresh` keeps the stored outputs. Drift on the host is
  // found by converging (the next `pulumi up` after a change, or `podkit diff`).
} satisfies pulumi.dynamic.ResourceProvider<RoleInputs, RoleOutputs>;

export const forTests = { fingerprintsOf, changedParts, roleStateOf, redact, canonicalJson, MODULES };
