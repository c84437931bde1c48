// Every kind of host the CLI works with, each through its adapter: the only
// place that knows them all (the core sees the HostProvider interface).
import { existingProvider } from "../infra/existing-provider";
import { hcloudProvider } from "../infra/hcloud-provider";
import { labProvider } from "../lab/provider";
import type { HostProviders } from "../stack/host-provider";

/** The adapters for one command; the lab's reads the running lab's state when a stack first names a lab host. */
export function hostProviders(): HostProviders {
  return { hcloud: hcloudProvider, existing: existingProvider, lab: labProvider() };
}
