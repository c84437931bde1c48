// What `podkit apply` and `podkit diff` do with what a host says it is: the
// roles are rendered again for the detected profile, and the profile is said
// once per host and run (with what podkit leaves to the machine outside it).
import type { HostWork } from "../converge/pod";
import { describeProfile, profileFromFacts, profileNotes, unsupportedHost, type HostFacts } from "../converge/host-facts";
import type { RoleState } from "../converge/types";
import { podPorts, portSpec } from "../stack/ports";
import type { Stack } from "../stack/schema";

export interface Detection {
  /** For convergeHost's onHost: the host's roles rendered for what it is. */
  onHost: (facts: HostFacts | undefined) => RoleState[];
  /** The last description said ("Debian 12 (bookworm), container (lxc), IPv4 only"), once a round-trip came back. */
  description(): string | undefined;
}

export function detectProfile(stack: Stack, work: HostWork, log: (line: string) => void): Detection {
  let said: string | undefined;
  const ports = podPorts(stack, work.host).map((p) => `${p.protocol} ${portSpec(p)}`);
  return {
    onHost(facts) {
      const profile = profileFromFacts(work.profile, facts, work.declared);
      const line = describeProfile(profile, facts);
      // Converge looks again after installing packages (nft may only then be there to ask): say it again only if it changed.
      if (line !== said) {
        log(`${work.host}: ${line}`);
        for (const note of profileNotes(profile, facts, ports)) log(`${work.host}: ${note}`);
        said = line;
      }
      // Before any role renders: nothing on the host has changed yet, and nothing will.
      const refused = unsupportedHost(profile, facts);
      if (refused) throw new Error(refused);
      return work.render(profile);
    },
    description: () => said,
  };
}
