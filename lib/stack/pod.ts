// A pod: a validated stack plus what it needs from outside the file — secrets,
// host addresses, the DKIM key — each looked up once, with errors that point
// at the line that asked for it.
import { labSecretsAdvice } from "../lab/checkout";
import { type LabState, readLabState } from "../lab/state";
import type { DnsFacts, HostAddresses } from "../dns/plan";
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
  dns: DnsFacts;
}

/** Thrown when a stack cannot become a pod; carries every problem found. */
export class StackError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.field}: ${p.message}`).join("\n"));
  }
}

export interface LoadPodOptions {
  secretsFile?: string;
  /** Create the DKIM key if it is missing (`zone`, `plan`, `apply` do; a notice goes to stderr). */
  generate?: boolean;
  /** Random values for every missing secret: the lab and workshops, never production. */
  generateAll?: boolean;
  /** Every referenced secret must have a value (apply), not just the DKIM key (zone, plan). */
  requireSecrets?: boolean;
  /** Every host's address must be known now: true for zone files, false for plan (hcloud addresses come from `pulumi up`). */
  requireAddresses?: boolean;
  /** The running lab's state (null: the lab is down); read from this machine when not given. */
  labState?: LabState | null;
  log?: (line: string) => void;
}

export function loadPod(file: string, opts: LoadPodOptions = {}): Pod {
  const loaded = loadStackFile(file);
  if (!loaded.ok) throw new StackError(loaded.problems);
  const { stack, source } = loaded;
  const secrets = new SecretStore(opts.secretsFile ?? secretsFileFor(file));
  const problems: Problem[] = [];
  const labHost = Object.keys(stack.hosts).find((h) => stack.hosts[h].lab);
  const lab = labHost ? (opts.labState === undefined ? readLabState() : opts.labState) : null;

  if (opts.requireSecrets) {
    const missing = secretUses(stack).filter((use) => !secrets.has(use.name));
    // A lab pod's secrets come with the running lab: when it explains why they are missing, say that once.
    const advice = missing.length && labHost ? labSecretsAdvice(lab, file, secrets.file) : undefined;
    if (advice) {
      const names = [...new Set(missing.map((u) => u.name))];
      const listed = names.length > 4 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
      problems.push(source.problem(["hosts", labHost!, "lab"], `${names.length} secret(s) have no value in ${secrets.file} (${listed}): ${advice}`, "key"));
    } else {
      for (const use of missing) problems.push(source.problem(use.path, `secret "${use.name}" has no value: add it to ${secrets.file} or set ${envName(use.name)}`));
    }
  }

  const addresses: Record<string, HostAddresses> = {};
  for (const [name, host] of Object.entries(stack.hosts)) {
    if (host.existing) addresses[name] = { ipv4: host.existing.address, ipv6: host.existing.address6 };
    if (host.lab) {
      const found = lab?.hosts[host.lab.name];
      if (found) addresses[name] = { ipv4: found.address };
      else problems.push(source.problem(["hosts", name, "lab"], lab ? `lab host "${host.lab.name}" is not running` : "the lab is not running: start it with `npx podkit lab up`", "key"));
    }
    if (host.hcloud && opts.requireAddresses) {
      problems.push(source.problem(["hosts", name, "hcloud"],
        "this host is created by `pulumi up`, so its addresses are known only after it: `pulumi stack output zoneFiles` prints the complete zones", "key"));
    }
  }
  if (problems.length) throw new StackError(problems);

  // Only a stack that is complete gets keys generated for it.
  if (opts.generate || opts.generateAll) {
    const created = ensureGeneratedSecrets(stack, secrets, { all: opts.generateAll });
    if (created.length) (opts.log ?? console.error)(`podkit: created ${created.join(", ")} in ${secrets.file}: keep that file private and backed up`);
  }
  const key = secrets.get(GENERATED.dkimKey);
  return { file, stack, source, secrets, addresses, dns: { addresses, dkimPublicKey: key ? dkimPublicKey(key) : undefined } };
}
