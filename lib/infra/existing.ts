// A host that already exists (bare metal in a hackspace, a VPS elsewhere): no
// cloud resources, just what the stack file says about it, with its host key
// pinned from the file (validation already refused an existing host without one).
import * as pulumi from "@pulumi/pulumi";
import { hostFqdn } from "../stack/derive";
import type { Stack } from "../stack/schema";
import { existingProvider } from "./existing-provider";
import type { PodHost } from "./host";
import { parsePin } from "../ssh/keys";

export function existingHost(stack: Stack, name: string): PodHost {
  const e = stack.hosts[name].existing;
  if (!e) throw new Error(`host ${name} is not an existing host`);
  if (!e.hostKey) throw new Error(`hosts.${name}.existing.hostKey is missing: podkit pins host keys (see \`npx podkit validate\`)`);
  return {
    name,
    fqdn: hostFqdn(stack, name),
    kind: "existing",
    // Nothing can look at the host before `pulumi up` renders its roles: the declared facts, else the defaults.
    profile: existingProvider.profile(stack, name),
    declared: existingProvider.declaredFacts!(stack, name),
    ipv4: pulumi.output(e.address),
    ipv6: pulumi.output(e.address6),
    ssh: {
      host: pulumi.output(e.ssh.host ?? e.address),
      port: e.ssh.port,
      user: e.ssh.user,
      bootWaitMs: 0,
      hostKeyFingerprint: pulumi.output(parsePin(e.hostKey).fingerprint),
      hostKeyPublic: pulumi.output(e.hostKey.startsWith("SHA256:") ? undefined : e.hostKey),
      privateKey: pulumi.output<string | undefined>(undefined),
    },
    volumeDevice: pulumi.output<string | undefined>(undefined),
  };
}
