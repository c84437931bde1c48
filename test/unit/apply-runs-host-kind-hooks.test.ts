// What a kind of host sets up around an apply (the lab: its DNS, its backup
// target) is a hook of its adapter that apply calls without knowing the kind.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { runConverge } from "../../lib/cli/converge-run";
import { existingProvider } from "../../lib/infra/existing-provider";
import type { HostProvider } from "../../lib/stack/host-provider";

const ROOT = join(__dirname, "..", "..");

/** The hackspace stack, its host reached at a closed local port: every connection fails at once. */
function unreachableStack(): string {
  const dir = mkdtempSync(join(tmpdir(), "podkit-hooks-"));
  const text = readFileSync(join(ROOT, "stacks", "hackspace.yaml"), "utf8").replace("ssh: { host: 192.0.2.25, port: 2222, user: root }", "ssh: { host: 127.0.0.1, port: 1, user: root }");
  assert.match(text, /host: 127\.0\.0\.1, port: 1,/);
  writeFileSync(join(dir, "s.yaml"), text);
  const dkim = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(join(dir, "s.secrets.yaml"), `ada-password: a\ngrace-password: g\nrelay-password: r\npassword-salt: s\nturn-secret: t\ndkim-key: |\n${dkim.trimEnd().replace(/^/gm, "  ")}\n`, { mode: 0o600 });
  return join(dir, "s.yaml");
}

function recordingKind(calls: string[]): HostProvider {
  return {
    ...existingProvider,
    async beforeApply(_pod, { roles }) {
      calls.push(`before ${roles?.join(",") ?? "all"}`);
    },
    async alongsideApply() {
      calls.push("alongside");
      throw new Error("the backup target is unreachable");
    },
  };
}

/** Streams that keep what apply prints, as a log file would (not a terminal). */
function captured() {
  const text: string[] = [];
  const stream = { write: (t: string) => text.push(t), isTTY: false };
  return { io: { out: stream, err: stream }, lines: () => text.join("").split("\n").filter((l) => l !== "") };
}

test("apply runs each host kind's hooks once, before and alongside converging, and counts a hook's failure", async () => {
  const calls: string[] = [];
  const out = captured();
  const code = await runConverge([unreachableStack(), "--role", "mail"], "", false, { existing: recordingKind(calls) }, out.io);
  assert.equal(code, 69);
  assert.deepEqual(calls, ["before mail", "alongside"]);
  const lines = out.lines();
  assert.ok(lines.includes("FAILED hackspace around the apply: the backup target is unreachable"), lines.join("\n"));
  assert.match(lines.at(-1)!, /^FAILED on 2 host\(s\); no changes on 0 host\(s\)/);
});

test("diff runs no hook: it changes nothing, not even around the pod", async () => {
  const calls: string[] = [];
  // 69: it got as far as connecting to the host.
  assert.equal(await runConverge([unreachableStack()], "", true, { existing: recordingKind(calls) }, captured().io), 69);
  assert.deepEqual(calls, []);
});
