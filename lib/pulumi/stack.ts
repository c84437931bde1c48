// The stack file under `pulumi up`: which file, validated completely before a
// single resource is registered, and its secrets read from Pulumi config. Every
// problem is reported at once, with file:line:column, as `podkit validate` does.
import * as pulumi from "@pulumi/pulumi";
import { hostKind } from "../stack/derive";
import { loadStackFile } from "../stack/load";
import { formatProblem, type Problem, type SourceMap } from "../stack/problems";
import type { Stack } from "../stack/schema";
import { secretUses } from "../stack/secrets";

/** Config key naming the stack file; default `stacks/<pulumi stack name>.yaml`. */
export const STACK_FILE_KEY = "stackFile";

export function stackFilePath(config: pulumi.Config): string {
  return config.get(STACK_FILE_KEY) || `stacks/${pulumi.getStack()}.yaml`;
}

/** Fails (a RunError: Pulumi prints it without a stack trace) unless the file is a valid stack Pulumi can bring up. */
export function loadStackForPulumi(file: string): { stack: Stack; source: SourceMap } {
  const loaded = loadStackFile(file);
  if (!loaded.ok) fail(`${file} is not a valid stack file`, loaded.problems);
  const { stack, source } = loaded;
  const lab = Object.keys(stack.hosts).filter((h) => hostKind(stack, h) === "lab");
  if (lab.length) {
    fail(`${file} uses lab hosts`, lab.map((h) => source.problem(["hosts", h, "lab"],
      `lab hosts are local and throwaway, not for Pulumi: bring this stack up with \`npx podkit apply ${file}\``, "key")));
  }
  return { stack, source };
}

/**
 * Every secret the stack names, read from Pulumi config in the `podkit`
 * namespace as a Pulumi secret (even if it was set without --secret), so it
 * is encrypted wherever it flows. All missing ones are reported together.
 */
export function resolveSecrets(stack: Stack, source: SourceMap, config: pulumi.Config): Record<string, pulumi.Output<string>> {
  const out: Record<string, pulumi.Output<string>> = {};
  const missing: Problem[] = [];
  const names = new Set<string>();
  for (const use of secretUses(stack)) {
    const value = config.getSecret(use.name);
    if (value === undefined) {
      names.add(use.name);
      missing.push(source.problem(use.path,
        `secret "${use.name}" is not set in Pulumi config: pulumi config set --secret ${config.name}:${use.name} <value>`));
    } else {
      out[use.name] = value;
    }
  }
  if (missing.length) fail(`missing secrets: ${[...names].join(", ")}`, missing);
  return out;
}

function fail(summary: string, problems: Problem[]): never {
  throw new pulumi.RunError(`${summary}\n${problems.map(formatProblem).join("\n")}`);
}
