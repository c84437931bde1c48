// `podkit plan` says what each host is: detected when podkit can reach it,
// else what its kind and the stack say, marked "(not probed)" with why.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { probeHosts } from "../../lib/cli/probe";
import { loadPod } from "../../lib/stack/pod";
import { TEST_PROVIDERS } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");

/** The hackspace stack with its host at a closed local port (refused at once), and `profile` declared when given. */
function stack(profile?: string): string {
  const dir = mkdtempSync(join(tmpdir(), "podkit-probe-"));
  let text = readFileSync(join(ROOT, "stacks", "hackspace.yaml"), "utf8").replace("ssh: { host: 192.0.2.25, port: 2222, user: root }", "ssh: { host: 127.0.0.1, port: 1, user: root }");
  if (profile) text = text.replace(/^( +)ssh: \{ host: 127.*$/m, (line, indent: string) => `${line}\n${indent}profile: ${profile}`);
  writeFileSync(join(dir, "s.yaml"), text);
  return join(dir, "s.yaml");
}

test("an unreachable host is shown as its kind and the stack say, not probed, with why", async () => {
  const pod = loadPod(stack("{ ipv6: false, virtualization: container }"), { providers: TEST_PROVIDERS, generate: true, log: () => undefined });
  const { box } = await probeHosts(pod);
  assert.equal(box.description, "Debian (bookworm), container, IPv4 only (not probed)");
  assert.match(box.notProbed!, /cannot connect over SSH/);
});

test("--offline connects to nothing", async () => {
  const pod = loadPod(stack(), { providers: TEST_PROVIDERS, generate: true, log: () => undefined });
  const { box } = await probeHosts(pod, { offline: true });
  assert.equal(box.notProbed, "--offline");
  assert.equal(box.description, "Debian (bookworm), no virtualization, IPv4 and IPv6 (not probed)");
});
