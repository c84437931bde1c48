// What each roles/<name>/role.test.ts asks of the checker roots: the role,
// rendered for every example stack on every supported Debian release, passes
// its daemons' own checkers in that release's root; and a typo in one of its
// files makes a checker refuse with the daemon's message.
import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { RoleState } from "../../lib/converge/types";
import { withHostRoot, type CheckOutcome } from "../../lib/checker/host-root";
import { renderExampleStacks, renderStack, type RenderedHost } from "../../lib/checker/render";
import type { Stack } from "../../lib/stack/schema";
import { RELEASES } from "../../lib/stack/releases";

/** The codenames the role tests run for: each role test repeats its typo tests per release. */
export const RELEASE_CODENAMES = RELEASES.map((r) => r.codename);

/** Rendered once per test file: its tests check the same hosts. */
let rendered: RenderedHost[] | undefined;

/** Every example stack's host that has the role, on every release (or one), with that role's state. */
export function hostsWith(role: string, release?: string): { host: RenderedHost; state: RoleState }[] {
  rendered ??= renderExampleStacks();
  return rendered
    .filter((host) => !release || host.release === release)
    .flatMap((host) => host.states.filter((s) => s.role === role).map((state) => ({ host, state })));
}

/** Runs the role's checkers for every example stack on every release; each host's time goes to the test's diagnostics. */
export async function assertChecksPass(t: TestContext, role: string, release?: string): Promise<void> {
  const hosts = hostsWith(role, release);
  assert.ok(hosts.length > 0, `some example stack has role ${role}`);
  // Hosts side by side: most of the time goes to process start-up, not to the checkers.
  const begun = Date.now();
  const outcomes = await Promise.all(hosts.map(async ({ host, state }) => {
    const started = Date.now();
    return { host, outcome: await withHostRoot(host, (root) => root.check(state)), ms: Date.now() - started };
  }));
  for (const { host, outcome, ms } of outcomes) {
    assert.ok(outcome.ok, `${host.stack} ${host.host} (${host.release}): ${role} refused by ${outcome.refused ?? "the check script"}:\n${outcome.output}`);
    assert.ok(outcome.checks.length > 0, `${role} has checkers`);
    t.diagnostic(`${role} on ${host.stack} ${host.host} (${host.release}): ${outcome.checks.join(", ")}: ${ms} ms`);
  }
  t.diagnostic(`${role}: ${hosts.length} hosts checked in ${Date.now() - begun} ms`);
}

/**
 * Checks the role on the first example stack that has it, rendered for
 * `release`, after `edit` changed one of its files (the host has the unedited
 * files live, as after an earlier apply): what apply would answer to that edit.
 */
export async function checkEdited(role: string, path: string, edit: (content: string) => string, release: string = RELEASE_CODENAMES[0]): Promise<CheckOutcome> {
  const [{ host, state }] = hostsWith(role, release);
  const file = state.files.find((f) => f.path === path);
  assert.ok(file, `role ${role} manages ${path}`);
  const edited = edit(file.content);
  assert.notEqual(edited, file.content, `the edit changes ${path}`);
  const typo: RoleState = { ...state, files: state.files.map((f) => (f === file ? { ...f, content: edited } : f)) };
  return withHostRoot(host, (root) => root.check(typo));
}

/** The example stack's host that has `role`, rendered for `release` after `edit` changed the stack: what apply would render. */
export function hostWithStack(role: string, release: string, edit: (stack: Stack) => void, stackFile = "stacks/hetzner.yaml"): { host: RenderedHost; state: RoleState } {
  const host = renderStack(stackFile, release, edit).find((h) => h.states.some((s) => s.role === role));
  assert.ok(host, `${stackFile} has role ${role}`);
  return { host, state: host.states.find((s) => s.role === role)! };
}
