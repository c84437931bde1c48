// What a valid stack may still want its author to know: choices that work but
// give up a protection, each said at its line with what it means and what to
// do instead. `podkit validate` prints them; they stop nothing.
import { formatProblem, type Problem, type SourceMap } from "./problems";
import type { Stack } from "./schema";

export function stackWarnings(stack: Stack, source: SourceMap): Problem[] {
  const warnings: Problem[] = [];
  if (stack.backup?.target.sftp) {
    warnings.push(source.problem(["backup", "target", "sftp"],
      "an SFTP login can delete and overwrite whatever it wrote, and the pod holds that login: " +
      "someone who breaks into the pod can destroy its backups too. For backups the pod cannot delete, " +
      "use backup.target.rest with a server in --append-only mode (rest-server, `rclone serve restic`) and a separate prune login.", "key"));
  }
  return warnings;
}

/** "warning: file:line:column field: message", one a line. */
export const formatWarning = (w: Problem) => `warning: ${formatProblem(w)}`;
