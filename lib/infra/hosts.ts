// Every host of the pod, each as a PodHost: Hetzner servers are created, existing
// hosts are described. Lab hosts never get here (lib/pulumi/stack.ts refuses them).
import { hostFqdn, hostKind } from "../stack/derive";
import { publicPorts } from "../stack/public-ports";
import { reverseName } from "../stack/reverse-name";
import type { Stack } from "../stack/schema";
import { existingHost } from "./existing";
import { AdminSshKeys, HcloudHost } from "./hcloud";
import type { PodHost } from "./host";

export function podHosts(stack: Stack): Record<string, PodHost> {
  const names = Object.keys(stack.hosts);
  const cloud = names.filter((h) => hostKind(stack, h) === "hcloud");
  // Component "admin", children "admin-<hash>": the names the keys had before the component.
  // In the Hetzner project for its rescue system and console; servers are not created with them.
  if (cloud.length) new AdminSshKeys("admin", { pod: stack.pod, keys: stack.admin.sshKeys });
  const hosts: Record<string, PodHost> = {};
  for (const name of names) {
    const spec = stack.hosts[name];
    const fqdn = hostFqdn(stack, name);
    if (spec.hcloud) {
      // Resource names are the host's key, not the pod's name: renaming the pod renames, never replaces.
      const host = new HcloudHost(name, {
        pod: stack.pod, host: name, fqdn, spec: spec.hcloud, ports: publicPorts(stack, name), ptr: reverseName(stack, name),
      });
      hosts[name] = host.podHost(name, fqdn);
    } else if (spec.existing) {
      hosts[name] = existingHost(stack, name);
    } else {
      throw new Error(`host ${name}: only hcloud and existing hosts can be brought up with Pulumi`);
    }
  }
  return hosts;
}
