// Host adapters for tests that render roles without hosts: Hetzner and existing
// hosts as the CLI has them, lab hosts from a recorded lab state (no lab needed).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { existingProvider } from "../../lib/infra/existing-provider";
import { hcloudProvider } from "../../lib/infra/hcloud-provider";
import { labProvider } from "../../lib/lab/provider";
import type { LabState } from "../../lib/lab/state";
import { hostKind } from "../../lib/stack/derive";
import type { HostProviders } from "../../lib/stack/host-provider";
import type { HostProfile } from "../../lib/stack/profile";
import type { Stack } from "../../lib/stack/schema";

export const RECORDED_LAB: LabState = JSON.parse(readFileSync(join(__dirname, "..", "fixtures", "lab-state.json"), "utf8"));

export const TEST_PROVIDERS: HostProviders = { hcloud: hcloudProvider, existing: existingProvider, lab: labProvider(RECORDED_LAB) };

/** The profile a host of the stack has, through its kind's adapter. */
export const profileOf = (stack: Stack, host: string): HostProfile => TEST_PROVIDERS[hostKind(stack, host)]!.profile(stack, host);
