// Every role of every example stack, rendered as `podkit apply` would render
// it for each kind of host (lab hosts with the lab's profile), on each
// supported Debian release, with made-up secrets: random passwords and a real
// DKIM key (rspamd signs with it). What the config-checked tier checks, and where
// each release's checker root gets its package list.
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { roleContext } from "../converge/pod";
import { roleNamed } from "../converge/registry";
import { EXISTING_PROFILE } from "../infra/existing-provider";
import { HCLOUD_PROFILE } from "../infra/hcloud-provider";
import { labProfileWithResolver } from "../lab/provider";
import type { HostProfile } from "../stack/profile";
import type { Stack } from "../stack/schema";
import type { RoleState } from "../converge/types";
import { REPO_ROOT } from "../paths";
import { hostFqdn, hostKind, rolesByHost } from "../stack/derive";
import { loadStackFile } from "../stack/load";
import { GENERATED, newDkimKey } from "../stack/secrets";
import { newWireguardKey, wireguardKeySecret } from "../stack/edge";
import { RELEASES } from "../stack/releases";

export interface RenderedHost {
  /** Stack file, relative to the repository. */
  stack: string;
  host: string;
  fqdn: string;
  /** The Debian release it was rendered for, by codename: its checks run in that release's checker root. */
  release: string;
  /** The host's roles in apply order. */
  states: RoleState[];
}

/** stacks/*.yaml without their secrets files. */
function exampleStacks(): string[] {
  return readdirSync(join(REPO_ROOT, "stacks"))
    .filter((f) => /\.ya?ml$/.test(f) && !/\.secrets\.ya?ml$/.test(f))
    .sort()
    .map((f) => `stacks/${f}`);
}

/** The profile each kind of host gives, without reaching any host (the lab's from its configuration), on `release`. */
function profileFor(stack: Stack, host: string, release: string): HostProfile {
  const kind = hostKind(stack, host);
  const profile = kind === "hcloud" ? HCLOUD_PROFILE : kind === "existing" ? EXISTING_PROFILE : labProfileWithResolver();
  return { ...profile, release };
}

/** One DKIM key for the whole process: RSA generation costs a tenth of a second each time. */
let dkimKey: string | undefined;

/**
 * Every host of a stack with all its roles rendered for a release (a codename); `edit` changes the
 * loaded stack first (a role test's own settings, e.g. mail.dovecot).
 */
export function renderStack(stackFile: string, release: string, edit?: (stack: Stack) => void): RenderedHost[] {
  const loaded = loadStackFile(join(REPO_ROOT, stackFile));
  if (!loaded.ok) throw new Error(`${stackFile}: ${loaded.problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`).join("; ")}`);
  const stack = edit ? structuredClone(loaded.stack) : loaded.stack;
  edit?.(stack);
  dkimKey ??= newDkimKey();
  const secrets = new Map<string, string>([[GENERATED.dkimKey, dkimKey]]);
  // A WireGuard key is a key (its public half goes in the peer's file); any other
  // secret is a password, passphrase or token: a random value of the usual shape.
  const lookup = (name: string) => {
    if (!secrets.has(name)) secrets.set(name, name.startsWith(wireguardKeySecret("")) ? newWireguardKey() : randomBytes(18).toString("base64url"));
    return secrets.get(name);
  };
  return Object.entries(rolesByHost(stack)).map(([host, roles]) => {
    const ctx = roleContext(stack, host, lookup, profileFor(stack, host, release));
    return { stack: stackFile, host, fqdn: hostFqdn(stack, host), release, states: roles.map((r) => roleNamed(r).state(ctx)) };
  });
}

/** Every example stack rendered for one release, or for each supported release when none is named. */
export function renderExampleStacks(release?: string): RenderedHost[] {
  const releases = release ? [release] : RELEASES.map((r) => r.codename);
  return releases.flatMap((r) => exampleStacks().flatMap((stack) => renderStack(stack, r)));
}
