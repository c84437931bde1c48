// The xmpp role's stale-accounts script, run for real on a copy of Prosody's
// storage: the account file of every account the stack no longer has goes,
// the last account of a domain and the accounts of a domain the stack dropped
// too; the stack's accounts, and whatever is not an account file, stay; each
// removed account's open sessions are closed through Prosody's admin shell.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { roleContext } from "../../lib/converge/pod";
import { loadStackFile } from "../../lib/stack/load";
import { xmpp } from "../../roles/xmpp/role";
import { profileOf } from "./host-profiles";

const loaded = loadStackFile(join(__dirname, "..", "..", "stacks", "lab-a.yaml"));
if (!loaded.ok) throw new Error("stacks/lab-a.yaml does not load");
const stack = loaded.stack; // alice@a.test and carol@a.test

function setup() {
  const dir = mkdtempSync(join(tmpdir(), "podkit-stale-"));
  const storage = join(dir, "prosody");
  const ctx = roleContext(stack, "mx", (n) => `value of ${n}`, profileOf(stack, "mx"));
  const script = xmpp.state(ctx).files.find((f) => f.path === "/usr/local/sbin/podkit-chat-stale-accounts")!.content;
  writeFileSync(join(dir, "stale"), script.replaceAll("/var/lib/prosody/", `${storage}/`));
  // A Prosody admin shell that records what it was asked.
  writeFileSync(join(dir, "prosodyctl"), `#!/bin/sh\necho "$*" >> ${dir}/shell.log\n`);
  chmodSync(join(dir, "prosodyctl"), 0o755);
  const files = {
    kept: ["a%2etest/accounts/alice.dat", "a%2etest/accounts/carol.dat"],
    removed: ["a%2etest/accounts/bob.dat", "b%2dold%2etest/accounts/dave%2ejones.dat"],
    notAccounts: ["a%2etest/roster/bob.dat", "conference%2ea%2etest/config/room.dat", "a%2etest/accounts/alice.list"],
  };
  for (const f of Object.values(files).flat()) {
    mkdirSync(join(storage, f, ".."), { recursive: true });
    writeFileSync(join(storage, f), "return {};\n");
  }
  const run = (...args: string[]) => execFileSync("sh", [join(dir, "stale"), ...args], { encoding: "utf8", env: { PATH: `${dir}:/usr/bin:/bin` } });
  return { dir, storage, files, run };
}

test("the account files of removed accounts are listed, the last account of a domain and a dropped domain's included", () => {
  const { storage, files, run } = setup();
  assert.deepEqual(run().trim().split("\n").sort(), files.removed.map((f) => join(storage, f)).sort());
});

test("--remove takes away exactly those, closes their sessions, and keeps archives, rosters and the stack's accounts", () => {
  const { dir, storage, files, run } = setup();
  run("--remove");
  for (const f of files.removed) assert.ok(!existsSync(join(storage, f)), `${f} removed`);
  for (const f of [...files.kept, ...files.notAccounts]) assert.ok(existsSync(join(storage, f)), `${f} kept`);
  assert.equal(run().trim(), "", "nothing stale is left");
  assert.deepEqual(readFileSync(join(dir, "shell.log"), "utf8").trim().split("\n").sort(),
    ["shell c2s close bob@a.test", "shell c2s close dave.jones@b-old.test"]);
});

test("a member-owned account (no password in the stack) gets no account file, and the one left from when the stack held its password is stale: that password no longer logs in", () => {
  const memberOwned = structuredClone(stack);
  delete memberOwned.accounts["carol@a.test"].password;
  const state = xmpp.state(roleContext(memberOwned, "mx", (n) => `value of ${n}`, profileOf(memberOwned, "mx")));
  assert.deepEqual(state.files.filter((f) => f.path.endsWith(".dat")).map((f) => f.path), ["/var/lib/prosody/a%2etest/accounts/alice.dat"]);
  assert.equal(state.files.find((f) => f.path === "/etc/podkit/xmpp/member-accounts")!.content.split("\n").filter((l) => l && !l.startsWith("#")).join(" "), "carol@a.test");
  const { dir, storage, files, run } = setup();
  writeFileSync(join(dir, "stale"), state.files.find((f) => f.path === "/usr/local/sbin/podkit-chat-stale-accounts")!.content.replaceAll("/var/lib/prosody/", `${storage}/`));
  assert.deepEqual(run().trim().split("\n").sort(), [...files.removed, "a%2etest/accounts/carol.dat"].map((f) => join(storage, f)).sort());
});
