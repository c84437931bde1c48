// What the rest of the Pulumi program (DNS and the role resources) knows
// about a host, whichever way it came to exist: where it is, how to reach it,
// and the host key to pin. Values are Outputs because a new server's are known
// only once it exists.
import * as pulumi from "@pulumi/pulumi";
import type { Output } from "@pulumi/pulumi";
import type { DetectableFacts, HostProfile } from "../stack/profile";
import { knownHostsLine } from "../ssh/keys";

export interface PodHost {
  /** The host's key in the stack file ("mx"). */
  name: string;
  /** Its full name: MX target, PTR, certificate name. */
  fqdn: string;
  kind: "hcloud" | "existing";
  /** What the roles may know about the machine (see lib/stack/profile.ts). */
  profile: HostProfile;
  /**
   * An existing host's facts as the stack declares them, and where: its roles
   * check the host against the profile they were rendered for before changing it.
   */
  declared?: { facts: Partial<DetectableFacts>; field: string };
  /** Public addresses, as published in DNS. */
  ipv4: Output<string>;
  ipv6: Output<string | undefined>;
  /** How podkit reaches it over SSH. */
  ssh: {
    host: Output<string>;
    port: number;
    user: string;
    /** Pinned host key fingerprint, "SHA256:...": the only key accepted. */
    hostKeyFingerprint: Output<string>;
    /** The host's public key line, when podkit knows it (generated keys; existing hosts given as a key line). */
    hostKeyPublic: Output<string | undefined>;
    /** How long a fresh machine may take to answer SSH (cloud-init runs first); 0 for a host that is up. */
    bootWaitMs: number;
    /**
     * The generated deploy key podkit logs in with (a Pulumi secret); absent for
     * existing hosts, where the roles log in with config podkit:sshPrivateKey.
     */
    privateKey: Output<string | undefined>;
    /**
     * The public half of privateKey, when podkit made the key (a Hetzner deploy
     * key); else it is read from the private key. The base role keeps it in root's keys.
     */
    publicKey?: Output<string>;
  };
  /** Linux device of the data volume, if the host has one. */
  volumeDevice: Output<string | undefined>;
  /**
   * Changes when the machine is replaced (a new Hetzner server id), so its
   * roles run again on the empty machine; absent for existing hosts, whose
   * identity is their pinned host key.
   */
  machineId?: Output<string>;
  /** What the host is made of (server, firewall, volume, PTRs): role resources wait for all of it. */
  resource?: pulumi.Resource;
}

/** known_hosts text for every host whose public key podkit knows (name, addresses, SSH address). */
export function knownHosts(hosts: PodHost[]): Output<string> {
  return pulumi.all(hosts.map((h) => pulumi.all([h.ipv4, h.ipv6, h.ssh.host, h.ssh.hostKeyPublic]).apply(([v4, v6, sshHost, key]) =>
    key ? knownHostsLine([h.fqdn, v4, v6 ?? "", sshHost], h.ssh.port, key) : undefined)))
    .apply((lines) => lines.filter((l): l is string => l !== undefined).map((l) => `${l}\n`).join(""));
}
