// Member-owned accounts (issue 17) as the lab exercises them: the lab stack with
// carol's password taken out, `podkit invite`, and the invite page used as a
// browser would. Shared by lab test 46 and the benchmark.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { podkit, REPO } from "./helpers";
import type { Pods } from "./pods";
import { podRequest } from "./uploads";

/** stacks/lab-a.yaml with carol's password line taken out (she sets her own), in a directory of its own with the lab's secrets beside it. */
export function memberStack(): { stack: string; dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "podkit-members-"));
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  const edited = original.replace(/(  carol@a\.test:\n    name: Carol\n)    password: \{ secret: carol-password \}\n/, "$1");
  assert.notEqual(edited, original, "the lab stack names carol's password, to take out");
  const stack = path.join(dir, "lab-a.yaml");
  writeFileSync(stack, edited);
  // Where podkit looks for a stack's secrets: beside it.
  copyFileSync(path.join(REPO, "stacks/lab-a.secrets.yaml"), path.join(dir, "lab-a.secrets.yaml"));
  return { stack, dir };
}

/** `podkit invite <address> [flags] <stack>`: the one-time link it printed, and all it printed. */
export async function invite(stack: string, address: string, ...flags: string[]): Promise<{ link: string; out: string }> {
  const r = await podkit("invite", address, ...flags, stack);
  assert.equal(r.code, 0, `podkit invite ${flags.join(" ")}: ${r.stdout}${r.stderr}`);
  const link = /https:\/\/\S+\/account\/invite\/[A-Za-z0-9_-]{43}/.exec(r.stdout)?.[0];
  assert.ok(link, `podkit invite prints a one-time link:\n${r.stdout}`);
  return { link, out: r.stdout };
}

/** A form POSTed to the pod's page as a browser does it (same origin). */
export function post(pods: Pods, url: string, fields: Record<string, string>) {
  return podRequest(pods, pods.a, "POST", url, Buffer.from(new URLSearchParams(fields).toString()),
    { "content-type": "application/x-www-form-urlencoded", origin: new URL(url).origin });
}

/** Opens the invite link, checks what the page tells the member, and chooses `password` there. */
export async function acceptInvite(pods: Pods, link: string, password: string, address = "carol@a.test"): Promise<void> {
  const page = await podRequest(pods, pods.a, "GET", link);
  assert.equal(page.status, 200, page.body.toString());
  const html = page.body.toString();
  assert.ok(html.includes(address), "the page names the account");
  assert.match(html, /encrypt/i, "and says what the pod promises");
  assert.match(html, /unreadable|cannot be read|no longer be read/i, "and what losing the password means");
  const done = await post(pods, link, { password, password2: password });
  assert.equal(done.status, 200, done.body.toString());
}
