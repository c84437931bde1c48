// A pod host on Hetzner Cloud. The server itself is replaceable; what must
// outlive it is kept in separate resources:
//   - primary IPv4 and IPv6 (autoDelete off), so DNS, reverse DNS and the
//     addresses' sending reputation stay when the server is rebuilt;
//   - reverse DNS set on those primary IPs, not on the server;
//   - the SSH host key, generated here and kept (encrypted) in Pulumi state, so
//     a rebuilt server presents the same pinned key;
//   - the optional data volume.
// Those (and the DKIM key, lib/infra/dkim.ts) are `protect`ed: neither `pulumi
// destroy` nor a replacement deletes them until the user says so with `pulumi
// state unprotect <urn>` (docs/pulumi.md, "Replacing the server"). They are
// named after their location: the one change that must replace them (a new
// location) can then create the new ones before deleting the old ones, where
// Hetzner refuses two resources with one name.
// Hetzner facts this relies on (hcloud provider 1.41): ids are numeric strings,
// so every id passed on is `Number`ed; userData, image, location and sshKeys
// force a new server; new accounts cannot send on ports 25/465 (see the relay).
import { createHash } from "node:crypto";
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import type { HostSpec } from "../stack/schema";
import { asNetwork } from "../stack/cidr";
import { portSpec, type PodPort } from "../stack/ports";
import { cloudInitUserData } from "./cloudinit";
import { HCLOUD_PROFILE, releaseOfImage } from "./hcloud-provider";
import type { PodHost } from "./host";
import { fingerprint } from "../ssh/keys";

type HcloudSpec = NonNullable<HostSpec["hcloud"]>;

export interface HcloudHostArgs {
  /** Pod name, for Hetzner names and labels. */
  pod: string;
  /** The host's key in the stack file ("mx"). */
  host: string;
  /** Full name: server name and hostname; the PTR of both addresses unless `ptr` says otherwise. */
  fqdn: string;
  /**
   * The name both addresses' reverse DNS give, when it is not `fqdn`: an edge
   * sends its mail host's mail, so receivers must find the MX name (its HELO)
   * at its address (lib/stack/reverse-name.ts).
   */
  ptr?: string;
  /** hosts.<host>.hcloud from the stack, defaults applied. */
  spec: HcloudSpec;
  /** The ports to open (publicPorts: an edge's include its boxes'); everything else is dropped by Hetzner's firewall. */
  ports: PodPort[];
}

/** What keeps the pod's identity and data: refused to `pulumi destroy` and to replacements (see the top). */
export const KEEP: pulumi.CustomResourceOptions = { protect: true };

const id = (o: { id: pulumi.Output<string> }) => o.id.apply(Number);

export class HcloudHost extends pulumi.ComponentResource {
  /** The primary addresses: these are what DNS publishes. */
  readonly ipv4: pulumi.Output<string>;
  readonly ipv6: pulumi.Output<string>;
  /** The pinned SSH host key ("ssh-ed25519 AAAA...") and its fingerprint ("SHA256:..."). */
  readonly hostKeyPublic: pulumi.Output<string>;
  readonly hostKeyFingerprint: pulumi.Output<string>;
  /** Private key podkit logs in with (OpenSSH format, a Pulumi secret), and its public half. */
  readonly deployPrivateKey: pulumi.Output<string>;
  readonly deployPublicKey: pulumi.Output<string>;
  readonly sshUser: pulumi.Output<string>;
  readonly serverId: pulumi.Output<string>;
  readonly volumeDevice: pulumi.Output<string | undefined>;
  /** The server image ("debian-13"): which Debian release the roles render for (lib/stack/releases.ts). */
  private readonly image: string;

  constructor(name: string, args: HcloudHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("podkit:infra:HcloudHost", name, {}, opts);
    const child = { parent: this };
    const { spec, fqdn } = args;
    this.image = spec.image;
    const labels = { pod: args.pod, host: args.host, "managed-by": "podkit" };
    const hetznerName = `${args.pod}-${args.host}`;

    // No assigneeType: without an assigneeId the provider warns on every preview,
    // and the server assigns the address itself (publicNets below).
    const primary = (type: "ipv4" | "ipv6") => new hcloud.PrimaryIp(`${name}-${type}`, {
      name: `${hetznerName}-${type}-${spec.location}`,
      type,
      location: spec.location,
      autoDelete: false, // the address outlives the server: DNS, PTR and reputation stay
      labels,
    }, { ...child, ...KEEP, ignoreChanges: ["assigneeId", "assigneeType"] });
    const ipv4 = primary("ipv4");
    const ipv6 = primary("ipv6");

    // The pinned host key: replacing it would make every admin's known_hosts and every pin wrong.
    const hostKey = new tls.PrivateKey(`${name}-host-key`, { algorithm: "ED25519" }, { ...child, ...KEEP });
    const deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, child);
    const deploySshKey = new hcloud.SshKey(`${name}-deploy`, {
      name: `${hetznerName}-podkit-deploy`,
      // The tls provider ends the line with "\n" and Hetzner stores it trimmed: untrimmed,
      // every later run sees a changed key, and publicKey replaces the key.
      publicKey: deployKey.publicKeyOpenssh.apply((k) => k.trim()),
      labels,
    }, child);

    const firewall = new hcloud.Firewall(`${name}-firewall`, {
      name: hetznerName,
      rules: firewallRules(args.ports),
      labels,
    }, child);

    // The host key's private half goes to the server only through userData: secret, always.
    const userData = pulumi.secret(pulumi.all([hostKey.privateKeyOpenssh, hostKey.publicKeyOpenssh]).apply(
      ([priv, pub]) => cloudInitUserData({ hostname: args.host, fqdn, hostKeyPrivate: priv, hostKeyPublic: pub })));

    const server = new hcloud.Server(`${name}-server`, {
      name: fqdn,
      serverType: spec.serverType,
      image: spec.image,
      location: spec.location,
      publicNets: [{ ipv4Enabled: true, ipv4: id(ipv4), ipv6Enabled: true, ipv6: id(ipv6) }],
      firewallIds: [id(firewall)],
      // Only the deploy key, which never changes: any change here replaces the server.
      // cloud-init writes it to /root/.ssh/authorized_keys for podkit's first login;
      // from the first apply on, sshd reads only the base role's file
      // (/etc/ssh/authorized_keys.d/root: the admins' keys and this deploy key), so
      // adding or removing an admin key is a file change, not a new server, and
      // nothing Hetzner or cloud-init put in root's home grants access.
      sshKeys: [deploySshKey.id],
      userData,
      labels,
    }, {
      ...child,
      // The primary IPs (and the server name) can belong to one server at a
      // time: the old server must be gone before its replacement is created.
      deleteBeforeReplace: true,
      // userData is read once, at the server's first boot, and Hetzner replaces a server
      // whose userData changes: a better rendering of it (podkit's user data once asked
      // for `ssh_genkeytypes: []`, which cloud-init's schema refuses) must not rebuild
      // running pods. What it carries is the same in every version: the host key (kept
      // in state) and the host name (which the base role sets again). The cost: a server
      // replaced for another reason (a new image) boots with the user data its
      // predecessor had. sshKeys is not ignored: a replacement must get key ids that
      // exist today, never ones since deleted.
      ignoreChanges: ["userData"],
    });

    // PTRs belong to the primary IPs, so they survive a server replacement.
    // Hetzner serves an IPv6 /64; the server's address in it (::1) gets the PTR.
    const ptr = args.ptr ?? fqdn;
    new hcloud.Rdns(`${name}-ptr-ipv4`, { primaryIpId: id(ipv4), ipAddress: ipv4.ipAddress, dnsPtr: ptr }, child);
    new hcloud.Rdns(`${name}-ptr-ipv6`, { primaryIpId: id(ipv6), ipAddress: server.ipv6Address, dnsPtr: ptr }, child);

    let volumeDevice: pulumi.Output<string | undefined> = pulumi.output<string | undefined>(undefined);
    if (spec.volume) {
      const volume = new hcloud.Volume(`${name}-data`, {
        name: `${hetznerName}-data-${spec.location}`,
        size: spec.volume.size,
        location: spec.location,
        format: "ext4",
        labels,
      }, { ...child, ...KEEP });
      // Not automounted: the base role mounts it by device id where the roles keep their data.
      new hcloud.VolumeAttachment(`${name}-data-attachment`, { volumeId: id(volume), serverId: id(server), automount: false }, child);
      volumeDevice = volume.linuxDevice;
    }

    this.ipv4 = ipv4.ipAddress;
    this.ipv6 = server.ipv6Address;
    this.hostKeyPublic = hostKey.publicKeyOpenssh.apply((k) => k.trim());
    this.hostKeyFingerprint = hostKey.publicKeyOpenssh.apply((k) => fingerprint(k));
    this.deployPrivateKey = pulumi.secret(deployKey.privateKeyOpenssh);
    this.deployPublicKey = deployKey.publicKeyOpenssh.apply((k) => k.trim());
    this.sshUser = pulumi.output("root");
    this.serverId = server.id;
    this.volumeDevice = volumeDevice;
    this.registerOutputs({
      ipv4: this.ipv4, ipv6: this.ipv6, hostKeyPublic: this.hostKeyPublic, hostKeyFingerprint: this.hostKeyFingerprint,
      deployPrivateKey: this.deployPrivateKey, deployPublicKey: this.deployPublicKey, sshUser: this.sshUser, serverId: this.serverId, volumeDevice: this.volumeDevice,
    });
  }

  /** The host as the rest of the program sees it. */
  podHost(name: string, fqdn: string): PodHost {
    return {
      name, fqdn, kind: "hcloud", profile: { ...HCLOUD_PROFILE, release: releaseOfImage(this.image) },
      ipv4: this.ipv4,
      ipv6: this.ipv6,
      ssh: {
        host: this.ipv4, port: 22, user: "root",
        // A new server boots and runs cloud-init (which installs the pinned host key) before sshd answers.
        bootWaitMs: 300_000,
        hostKeyFingerprint: this.hostKeyFingerprint,
        hostKeyPublic: this.hostKeyPublic,
        privateKey: this.deployPrivateKey,
        publicKey: this.deployPublicKey,
      },
      volumeDevice: this.volumeDevice,
      machineId: this.serverId,
      resource: this,
    };
  }
}

/** Hetzner firewall rules for exactly these ports, plus ICMP (ping, path MTU discovery). */
export function firewallRules(ports: PodPort[]): hcloud.types.input.FirewallRule[] {
  const anywhere = ["0.0.0.0/0", "::/0"];
  return [
    ...ports.map((p) => ({
      direction: "in",
      protocol: p.protocol,
      port: portSpec(p),
      // Hetzner takes networks only: a single admin address becomes its /32 or /128.
      sourceIps: (p.from ?? anywhere).map(asNetwork),
      description: `${p.service}: ${p.why}`.slice(0, 255),
    })),
    { direction: "in", protocol: "icmp", sourceIps: anywhere, description: "ping and path MTU discovery" },
  ];
}

export interface AdminSshKeysArgs {
  /** Pod name, for Hetzner names and labels. */
  pod: string;
  /** admin.sshKeys from the stack: OpenSSH public key lines. */
  keys: string[];
}

/**
 * The admins' keys as Hetzner SSH keys, once per pod (Hetzner refuses the same
 * key twice in a project). Named by a hash of the key, so reordering
 * admin.sshKeys renames nothing.
 */
export class AdminSshKeys extends pulumi.ComponentResource {
  /** Hetzner SSH key ids: for the rescue system and console (servers are created with the deploy key alone). */
  readonly ids: pulumi.Output<string>[];

  constructor(name: string, args: AdminSshKeysArgs, opts?: pulumi.ComponentResourceOptions) {
    super("podkit:infra:AdminSshKeys", name, {}, opts);
    this.ids = args.keys.map((key) => {
      const h = createHash("sha256").update(key.split(" ").slice(0, 2).join(" ")).digest("hex").slice(0, 10);
      return new hcloud.SshKey(`${name}-${h}`, { name: `${args.pod}-admin-${h}`, publicKey: key, labels: { pod: args.pod, "managed-by": "podkit" } }, {
        parent: this,
        // Stacks from before this component have the keys at the top level: the alias keeps them
        // (a new URN would delete and re-add each key, and Hetzner refuses a key that exists).
        aliases: [{ parent: pulumi.rootStackResource }],
      }).id;
    });
    this.registerOutputs({ ids: this.ids });
  }
}
