// The engine stages exactly what a checker declares it reads. A checker whose
// command names a staged path outside that declaration would see a file that is
// there only when it happened to change too: the shape of the bug where a new
// DKIM key alone could not be applied. Found here, for every role of every example
// stack, without a host.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { under } from "../../lib/converge/changes";
import { roleContext } from "../../lib/converge/pod";
import { roleNamed } from "../../lib/converge/registry";
import { dueChecks } from "../../lib/converge/scripts";
import type { CheckSpec } from "../../lib/converge/types";
import { rolesByHost } from "../../lib/stack/derive";
import { newWireguardKey, wireguardKeySecret } from "../../lib/stack/edge";
import { loadStackFile } from "../../lib/stack/load";
import { profileOf } from "./host-profiles";

// A WireGuard key must be one: its public half goes into the peer's file.
const WIREGUARD_KEY = newWireguardKey();
const STACKS = path.resolve(__dirname, "..", "..", "stacks");
const stacks = readdirSync(STACKS).filter((f) => f.endsWith(".yaml") && !f.endsWith(".secrets.yaml"));

/** Staged paths a checker's command names that lie outside what it declares it reads. */
function undeclaredStagedPaths(c: CheckSpec): string[] {
  return [...c.run.matchAll(/\{stage\}(\/[^\s'"#;|&)]*)/g)].map((m) => m[1].replace(/\/$/, "")).filter((p) => !under(p, c.reads));
}

test("every example stack renders roles whose checkers name only staged paths they declare they read", () => {
  let checks = 0;
  const problems: string[] = [];
  for (const file of stacks) {
    const loaded = loadStackFile(path.join(STACKS, file));
    assert.ok(loaded.ok, `${file} is valid`);
    const { stack } = loaded;
    for (const [host, roles] of Object.entries(rolesByHost(stack))) {
      const ctx = roleContext(stack, host, (n) => (n.startsWith(wireguardKeySecret("")) ? WIREGUARD_KEY : `placeholder for ${n}`), profileOf(stack, host));
      for (const name of roles) {
        const state = roleNamed(name).state(ctx);
        for (const c of state.checks ?? []) {
          checks++;
          for (const p of undeclaredStagedPaths(c)) problems.push(`${file} ${host}/${name} "${c.name}" uses {stage}${p} but reads only ${c.reads.join(", ")}`);
          // Every file the role manages that the checker reads makes it due.
          for (const f of state.files.filter((f) => under(f.path, c.reads))) {
            if (!dueChecks([c], [f.path]).length) problems.push(`${file} ${host}/${name}: a change to ${f.path} does not run "${c.name}"`);
          }
        }
      }
    }
  }
  assert.ok(checks >= 8, `checkers found in the example stacks (${checks})`);
  assert.deepEqual(problems, []);
});

test("the opendkim check as it was (config read from the stage, but only keys declared) is found", () => {
  const before: CheckSpec = {
    name: "opendkim -n", reads: ["/etc/dkimkeys", "/etc/opendkim"],
    run: "sed 's#/etc/dkimkeys/#{stage}/etc/dkimkeys/#; s#/etc/opendkim/#{stage}/etc/opendkim/#' {stage}/etc/opendkim.conf > {work}/opendkim.conf",
  };
  assert.deepEqual(undeclaredStagedPaths(before), ["/etc/opendkim.conf"]);
});
