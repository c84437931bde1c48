// A pod: a validated stack plus what it needs from outside the file — secrets,
// host addresses (from each kind of host's adapter), the DKIM key — each looked
// up once, with errors that point at the line that asked for it.
import type { DnsFacts, HostAddresses } from "../dns/plan";
import { hostKind } from "./derive";
import type { HostProvider, HostProviders } from "./host-provider";
import { loadStackFile } from "./load";
import type { Problem, SourceMap } from "./problems";
import type { Stack } from "./schema";
import { dkimPublicKey, ensureGeneratedSecrets, GENERATED, SecretStore, secretsFileFor, secretUses, envName } from "./secrets";

export interface Pod {
  file: string;
  stack: Stack;
  /** Where each field sits in the file, for errors found after validation. */
  source: SourceMap;
  secrets: SecretStore;
  /** Host addresses known without Pulumi: existing and lab hosts (hcloud hosts have none until created). */
  addresses: Record<string, HostAddresses>;
  /** Each host's adapter: how to reach it, its profile, what its kind sets up around an apply. */
  hosts: Record<string, HostProvider>;
  dns: DnsFacts;
}

/** Thrown when a stack cannot become a pod; carries every problem found. */
export class StackError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.field}: ${p.message}`).join("\n"));
  }
}

export interface LoadPodOptions {
  /** The kinds of host this command can work with (lib/cli/hosts.ts has them all). */
  providers: HostProviders;
  secretsFile?: string;
  /** Create the DKIM key if it is missing (`zone`, `plan`, `apply` do; a notice goes to stderr). */
  generate?: boolean;
  /** Random values for every missing secret: the lab and workshops, never production. */
  generateAll?: boolean;
  /** Every referenced secret must have a value (apply), not just the DKIM key (zone, plan). */
  requireSecrets?: boolean;
  /** Every host's address must be known now: true for zone files, false for plan (hcloud addresses come from `pulumi up`). */
  requireAddresses?: boolean;
  log?: (line: string) => void;
}

export function loadPod(file: string, opts: LoadPodOptions): Pod {
  const loaded = loadStackFile(file);
  if (!loaded.ok) throw new StackError(loaded.problems);
  const { stack, source } = loaded;
  const secrets = new SecretStore(opts.secretsFile ?? secretsFileFor(file));
  const problems: Problem[] = [];

  if (opts.requireSecrets) {
    const missing = secretUses(stack).filter((use) => !secrets.has(use.name));
    // Where a kind of host brings the secrets with it (the lab's come with the running lab), its
    // explanation of why they are missing says more than one line per secret: say that once.
    const explained = missing.length ? secretsAdvice(stack, opts.providers, file, secrets.file) : undefined;
    if (explained) {
      const names = [...new Set(missing.map((u) => u.name))];
      const listed = names.length > 4 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
      problems.push(source.problem(["hosts", explained.host, hostKind(stack, explained.host)], `${names.length} secret(s) have no value in ${secrets.file} (${listed}): ${explained.advice}`, "key"));
    } else {
      for (const use of missing) problems.push(source.problem(use.path, `secret "${use.name}" has no value: add it to ${secrets.file} or set ${envName(use.name)}`));
    }
  }

  const addresses: Record<string, HostAddresses> = {};
  const hosts: Record<string, HostProvider> = {};
  for (const name of Object.keys(stack.hosts)) {
    const kind = hostKind(stack, name);
    const provider = opts.providers[kind];
    if (!provider) {
      problems.push(source.problem(["hosts", name, kind], `${kind} hosts are not available to this command`, "key"));
      continue;
    }
    hosts[name] = provider;
    const where = provider.locate(stack, name);
    if ("addresses" in where) addresses[name] = where.addresses;
    else if ("problem" in where) problems.push(source.problem(["hosts", name, kind], where.problem, "key"));
    else if (opts.requireAddresses) problems.push(source.problem(["hosts", name, kind], where.later, "key"));
  }
  if (problems.length) throw new StackError(problems);

  // Only a stack that is complete gets keys generated for it.
  if (opts.generate || opts.generateAll) {
    const created = ensureGeneratedSecrets(stack, secrets, { all: opts.generateAll });
    if (created.length) (opts.log ?? console.error)(`podkit: created ${created.join(", ")} in ${secrets.file}: keep that file private and backed up`);
  }
  const key = secrets.get(GENERATED.dkimKey);
  return { file, stack, source, secrets, addresses, hosts, dns: { addresses, dkimPublicKey: key ? dkimPublicKey(key) : undefined } };
}

/** The first host whose kind explains missing secrets (the lab: whose checkout has them). */
function secretsAdvice(stack: Stack, providers: HostProviders, file: string, secretsFile: string): { host: string; advice: string } | undefined {
  for (const host of Object.keys(stack.hosts)) {
    const advice = providers[hostKind(stack, host)]?.secretsAdvice?.(file, secretsFile);
    if (advice) return { host, advice };
  }
  return undefined;
}
