// One role on one host under `pulumi up`, program side: a dynamic resource
// whose inputs are the role's rendered desired state (the RoleState `podkit
// apply` converges) and how to reach the host, run by roleProvider
// (role-provider.ts). What may be shown goes into the inputs in clear; secret
// files only as an HMAC keyed with the deploy key, their content a Pulumi secret.
import { createHmac } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { RoleState } from "../converge/types";
import { roleProvider, type FileInput, type JumpTarget, type RenderedFor, type StateInput } from "./role-provider";

export interface RoleResourceArgs {
  host: string;
  role: string;
  address: pulumi.Input<string>;
  port: pulumi.Input<number>;
  user: pulumi.Input<string>;
  hostKey: pulumi.Input<string>;
  hostKeyFingerprint: pulumi.Input<string>;
  machineId?: pulumi.Input<string | undefined>;
  bootWaitMs?: number;
  /** Made a secret here whatever it arrives as. */
  privateKey: pulumi.Input<string>;
  /** The public part of the rendered state (splitRoleState). */
  state: pulumi.Input<StateInput>;
  /** Made a secret here whatever it arrives as. */
  secretFiles: pulumi.Input<Record<string, string>>;
  /** For an existing host: the facts the state was rendered for, checked on the host. */
  renderedFor?: RenderedFor;
  /** For a box behind an edge: the edge it is reached through. Made a secret here (it holds the edge's key). */
  via?: pulumi.Input<JumpTarget>;
  /** For a box behind an edge: its own SSH address, for its first converge (no tunnel yet). */
  direct?: pulumi.Input<{ address: pulumi.Input<string>; port: number }>;
}

export class RoleResource extends pulumi.dynamic.Resource {
  declare readonly host: pulumi.Output<string>;
  declare readonly role: pulumi.Output<string>;
  declare readonly address: pulumi.Output<string>;
  declare readonly fingerprints: pulumi.Output<Record<string, string>>;
  declare readonly stateHash: pulumi.Output<string>;
  declare readonly changed: pulumi.Output<string[]>;

  constructor(name: string, args: RoleResourceArgs, opts?: pulumi.CustomResourceOptions) {
    super(roleProvider, name, {
      ...args,
      privateKey: pulumi.secret(args.privateKey),
      secretFiles: pulumi.secret(args.secretFiles),
      ...(args.via ? { via: pulumi.secret(args.via) } : {}),
      // Outputs the provider sets; undefined inputs make them known output properties.
      fingerprints: undefined, stateHash: undefined, changed: undefined,
    }, { ...opts, additionalSecretOutputs: ["privateKey", ...(args.via ? ["via"] : []), ...(opts?.additionalSecretOutputs ?? [])] }, "podkit", "Role");
  }
}

/**
 * Splits a rendered role into what may be shown (every file but secret ones,
 * those as an HMAC keyed with `hmacKey`) and the content of secret files. Fails
 * when a secret's value shows up anywhere outside a secret file: a role that
 * forgot `secret: true` must not put a password into plain state.
 */
export function splitRoleState(state: RoleState, opts: { hmacKey?: string; secrets: string[]; host: string }):
  { state: StateInput; secretFiles: Record<string, string> } {
  const files: Record<string, FileInput> = {};
  const secretFiles: Record<string, string> = {};
  for (const f of state.files) {
    const { path: p, content, ...meta } = f;
    if (files[p]) throw new Error(`${opts.host}/${state.role}: ${p} is declared twice`);
    if (!f.secret) {
      files[p] = { content, ...meta };
      continue;
    }
    if (!opts.hmacKey) throw new Error(`${opts.host}/${state.role}: no key to fingerprint secret file ${p}`);
    files[p] = { contentHmac: createHmac("sha256", opts.hmacKey).update(content).digest("hex"), ...meta };
    secretFiles[p] = content;
  }
  const { files: _files, ...rest } = state;
  const shown: StateInput = { ...rest, files };
  // Searched in every string as it is (JSON would escape a quote or a backslash in
  // the secret and hide it). A value under 8 characters is skipped: it would turn
  // up in config text by coincidence; the mocked-state tests search for those too.
  const needles = opts.secrets.flatMap((s) => s.split("\n")).map((l) => l.trim()).filter((l) => l.length >= 8 && !l.startsWith("-----"));
  const strings = (v: unknown): string[] => typeof v === "string" ? [v] : v && typeof v === "object" ? Object.values(v).flatMap(strings) : [];
  for (const [where, value] of [...Object.entries(files).map(([p, f]) => [p, f] as const), ["the role's other fields", rest] as const]) {
    if (strings(value).some((text) => needles.some((n) => text.includes(n)))) {
      throw new Error(`${opts.host}/${state.role}: ${where} holds the value of a secret but is not marked secret: ` +
        "mark the file `secret: true` in the role, so the value stays out of plain Pulumi state and logs");
    }
  }
  return { state: shown, secretFiles };
}

