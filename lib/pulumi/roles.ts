// The roles of every host under `pulumi up`: one RoleResource per (host, role),
// under one HostRoles component per host, in apply order, each waiting for the
// role before it, for the host's infrastructure and for the pod's DNS records
// (ACME validates names through DNS). A box behind an edge (`hosts.box.edge`)
// is converged after every role of its edge, through the edge's SSH to the
// box's tunnel address (its own address once, before the tunnel exists: see
// lib/converge/host-target.ts). The set of resources is known at plan
// time; only their inputs wait for values (secrets, keys, addresses). Each
// role renders with the same RoleContext `podkit apply` uses (roleContext), so
// both front doors put byte-identical files on a host.
import * as pulumi from "@pulumi/pulumi";
import { roleContext } from "../converge/pod";
import { roleNamed } from "../converge/registry";
import type { Role, RoleName } from "../converge/role";
import type { DkimKey } from "../infra/dkim";
import type { PodHost } from "../infra/host";
import { TUNNEL_SSH_PORT } from "../converge/host-target";
import { rolesByHost } from "../stack/derive";
import { edgeOf, tunnelAddress } from "../stack/edge";
import type { Stack } from "../stack/schema";
import { GENERATED } from "../stack/secrets";
import { publicKeyOfPrivateKey } from "../ssh/login-key";
import type { JumpTarget } from "./role-provider";
import { RoleResource, splitRoleState } from "./role-resource";

/** Config key holding the private key podkit logs in to existing hosts with (hcloud hosts get a generated deploy key). */
export const SSH_KEY_CONFIG = "sshPrivateKey";

export interface PodRolesArgs {
  /** Secret values from Pulumi config, by the name the stack gives them. */
  secrets: Record<string, pulumi.Output<string>>;
  dkim?: DkimKey;
  /** podkit:sshPrivateKey, for existing hosts. */
  sshPrivateKey?: pulumi.Output<string>;
  /** What every role waits for besides its host: the DNS records. */
  dependsOn?: pulumi.Resource[];
}

/**
 * The key podkit logs in to existing hosts with: podkit:sshPrivateKey, as a
 * secret. Called before any resource is registered, so a stack with existing
 * hosts and no key fails in `pulumi preview`, not halfway through `up`.
 */
export function existingHostKey(stack: Stack, config: pulumi.Config): pulumi.Output<string> | undefined {
  const existing = Object.keys(stack.hosts).filter((h) => stack.hosts[h].existing);
  const key = config.getSecret(SSH_KEY_CONFIG);
  if (existing.length && !key) {
    throw new pulumi.RunError(
      `podkit logs in to the existing host(s) ${existing.join(", ")} with the private key in Pulumi config ${config.name}:${SSH_KEY_CONFIG}, ` +
      `which is not set: pulumi config set --secret ${config.name}:${SSH_KEY_CONFIG} < ~/.ssh/id_ed25519 (a key that root on the host accepts)`);
  }
  return existing.length ? key : undefined;
}

/** Role resources by host and role. */
export function podRoles(stack: Stack, hosts: Record<string, PodHost>, args: PodRolesArgs): Record<string, Record<RoleName, RoleResource>> {
  const byHost = rolesByHost(stack);
  const keyless = Object.keys(byHost).filter((h) => hosts[h].kind === "existing");
  if (keyless.length && !args.sshPrivateKey) throw new Error(`no SSH private key for the existing host(s) ${keyless.join(", ")} (see existingHostKey)`);
  const secrets: Record<string, pulumi.Output<string>> = { ...args.secrets };
  if (args.dkim) secrets[GENERATED.dkimKey] = args.dkim.privateKeyPem;
  // A missing key fails the provider's check, which names the property.
  const keyOf = (h: PodHost) => (h.kind === "existing" ? args.sshPrivateKey! : h.ssh.privateKey.apply((k) => k ?? ""));
  const out: Record<string, Record<RoleName, RoleResource>> = {};
  // Edges first, so a box can wait for its edge's roles (an edge has no edge of its own); the stack's order otherwise.
  const order = Object.keys(byHost).sort((a, b) => Number(edgeOf(stack, a) !== undefined) - Number(edgeOf(stack, b) !== undefined));
  for (const host of order) {
    const h = hosts[host];
    const edge = edgeOf(stack, host);
    const through = edge === undefined ? undefined : {
      address: tunnelAddress(stack, host)!,
      via: jumpTarget(hosts[edge], keyOf(hosts[edge])),
      after: Object.values(out[edge] ?? {}),
    };
    out[host] = new HostRoles(host, { stack, host: h, roles: byHost[host], secrets, privateKey: keyOf(h), dependsOn: args.dependsOn, through }).roles;
  }
  // In the stack's order, as before edges existed.
  return Object.fromEntries(Object.keys(byHost).map((host) => [host, out[host]]));
}

/** How a box's roles reach its edge: the edge's own SSH address, pin and key, as one plain (secret) value. */
function jumpTarget(edge: PodHost, privateKey: pulumi.Output<string>): pulumi.Output<JumpTarget> {
  return pulumi.all([edge.ssh.host, edge.ssh.hostKeyPublic, edge.ssh.hostKeyFingerprint, privateKey]).apply(([address, key, fp, k]) =>
    ({ host: edge.name, address, port: edge.ssh.port, user: edge.ssh.user, hostKey: key ?? fp, privateKey: k }));
}

export interface HostRolesArgs {
  stack: Stack;
  host: PodHost;
  /** The host's roles in apply order (rolesByHost). */
  roles: RoleName[];
  /** Every secret value by name, the DKIM key included; each role waits only for those it reads. */
  secrets: Record<string, pulumi.Output<string>>;
  /** The key podkit logs in with. */
  privateKey: pulumi.Output<string>;
  /** What every role waits for besides its host: the DNS records. */
  dependsOn?: pulumi.Resource[];
  /**
   * For a box behind an edge: its tunnel address (reached through `via`, port
   * 22), the edge, and the edge's role resources, which every role of the box
   * waits for. The box's own SSH address stays the direct way in.
   */
  through?: { address: string; via: pulumi.Output<JumpTarget>; after: pulumi.Resource[] };
}

/** The roles of one host, each a RoleResource `${name}-role-${role}` waiting for the one before it. */
export class HostRoles extends pulumi.ComponentResource {
  readonly roles: Record<RoleName, RoleResource> = {};

  constructor(name: string, args: HostRolesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("podkit:roles:HostRoles", name, {}, opts);
    const { stack, host: h, privateKey } = args;
    const host = h.name;
    // Its public half stays in root's keys (the base role): sshd reads no other file.
    const loginKey = h.ssh.publicKey ?? pulumi.unsecret(privateKey.apply((k) => (k ? publicKeyOfPrivateKey(k) : undefined)));
    let previous: RoleResource | undefined;
    for (const role of args.roles) {
      const spec = roleNamed(role);
      const values = pick(args.secrets, secretsUsedBy(spec, stack, h) ?? Object.keys(args.secrets));
      // Rendered with every secret it uses; the result is split into what may be
      // shown (unsecret: the preview shows it) and the secret files (secret).
      // The data volume's device is known once the volume exists: the base role mounts it.
      // Only a role that reads podkit's login key (base) waits for it: a new server's deploy key is known only after `up`.
      const login = readsLoginKey(spec, stack, h) ? loginKey : pulumi.output(undefined);
      const split = pulumi.all([pulumi.all(values), h.volumeDevice, login]).apply(([v, device, key]) => {
        const profile = device ? { ...h.profile, dataVolume: device } : h.profile;
        const state = spec.state(roleContext(stack, host, (n) => v[n], profile, key));
        const render = (hmacKey?: string) => splitRoleState(state, { hmacKey, secrets: Object.values(v), host });
        // Only a role with secret files waits for the key that fingerprints them.
        return state.files.some((f) => f.secret) ? privateKey.apply(render) : pulumi.output(render());
      });
      const through = args.through;
      const resource: RoleResource = new RoleResource(`${name}-role-${role}`, {
        host, role,
        ...(through
          ? { address: through.address, port: TUNNEL_SSH_PORT, via: through.via, direct: { address: h.ssh.host, port: h.ssh.port } }
          : { address: h.ssh.host, port: h.ssh.port }),
        user: h.ssh.user,
        hostKey: pulumi.all([h.ssh.hostKeyPublic, h.ssh.hostKeyFingerprint]).apply(([key, fp]) => key ?? fp),
        hostKeyFingerprint: h.ssh.hostKeyFingerprint,
        machineId: h.machineId,
        bootWaitMs: h.ssh.bootWaitMs,
        privateKey,
        state: pulumi.unsecret(split.apply((s) => s.state)),
        secretFiles: split.apply((s) => s.secretFiles),
        renderedFor: h.declared && {
          facts: { virtualization: h.profile.virtualization, ipv6: h.profile.ipv6, firewall: h.profile.firewall, release: h.profile.release },
          declared: h.declared.facts,
          field: h.declared.field,
        },
      }, {
        parent: this,
        // Stacks from before this component have the roles at the top level: the alias keeps
        // them (a new URN would create every role again and "delete" the old ones).
        aliases: [{ parent: pulumi.rootStackResource }],
        dependsOn: [...(previous ? [previous] : []), ...(h.resource ? [h.resource] : []), ...(args.dependsOn ?? []), ...(through?.after ?? [])],
      });
      this.roles[role] = resource;
      previous = resource;
    }
    this.registerOutputs({});
  }
}

/**
 * The secrets a role reads, found by rendering it once with stand-ins, so a
 * role that reads none (base, tls, web) does not wait for one that is known
 * only after `up` (a generated DKIM key) and shows in full in the first
 * preview. undefined when the role cannot render with stand-ins (it parses a
 * key, say): it then waits for all of them.
 */
function secretsUsedBy(role: Role, stack: Stack, host: PodHost): string[] | undefined {
  const used = new Set<string>();
  try {
    role.state(roleContext(stack, host.name, (name) => {
      used.add(name);
      return `podkit-stand-in-for-${name}`;
    }, host.profile));
    return [...used];
  } catch {
    return undefined;
  }
}

/** Whether the role reads ctx.loginKey, found as secretsUsedBy finds secrets (true when it cannot render with stand-ins). */
function readsLoginKey(role: Role, stack: Stack, host: PodHost): boolean {
  let read = false;
  const ctx = roleContext(stack, host.name, (name) => `podkit-stand-in-for-${name}`, host.profile);
  Object.defineProperty(ctx, "loginKey", {
    get: () => {
      read = true;
      return undefined;
    },
  });
  try {
    role.state(ctx);
    return read;
  } catch {
    return true;
  }
}

function pick<T>(from: Record<string, T>, names: string[]): Record<string, T> {
  return Object.fromEntries(names.filter((n) => n in from).map((n) => [n, from[n]]));
}
