// What a person sees while `npm run lab` applies both pods to empty hosts.
//
// In a log (stdout a pipe): plain lines only, not one control character, every
// line of the apply naming its pod and host (both pods call their host mx), one
// short line per role, and the closing table. On a terminal: the same session
// recorded with tmux (a 200x50 pane, `tmux capture-pane -p` every few seconds,
// each snapshot printed as a diagnostic), showing one live line per host that
// follows apt's own progress, never a scroll of them.
//
// Hosts a and b are recreated empty before each run (a cold apply both times);
// their pods are applied again by the run itself, so later tests find them up,
// but mailboxes and chat archives of earlier tests are gone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { ensureLab, podkit, REPO, run } from "./helpers";

// A tmux server of this test's own (its own socket): nothing of anyone's tmux is touched.
const TMUX = ["-L", "podkit-lab-test-38"];
const SESSION = "npm-run-lab";
const SNAPSHOT_EVERY_MS = 3000;
const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;
/** A host's live status line, as podkit draws it (lib/cli/converge-run.ts). */
const LIVE = /^(lab-[ab]\/mx): (connecting|gathering facts|refreshing package lists|downloading \d+%|installing \d+%|\d+ of \d+ role)/;

async function recreateBoth(): Promise<void> {
  for (const host of ["a", "b"]) {
    const r = await podkit("lab", "recreate", host);
    assert.equal(r.code, 0, `podkit lab recreate ${host}:\n${r.stderr}`);
  }
}

const tmux = (...args: string[]) => spawnSync("tmux", [...TMUX, ...args], { encoding: "utf8" });

before(async () => {
  await ensureLab();
});

after(() => {
  tmux("kill-server");
});

test("a cold npm run lab written to a log has no control characters and names pod and host on every apply line, with role summaries and a table", { timeout: 900_000 }, async (t) => {
  await recreateBoth();
  const r = await run("npm", ["run", "--silent", "lab"], 900_000);
  t.diagnostic(`npm run lab, stdout (a pipe):\n${r.stdout}`);
  if (r.stderr.trim()) t.diagnostic(`stderr:\n${r.stderr}`);
  assert.equal(r.code, 0, `npm run lab failed:\n${r.stdout}\n${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, CONTROL, "no escape codes, carriage returns or tabs in a log");
  const lines = r.stdout.split("\n");
  // The apply's lines: from the first one naming a pod to the table.
  const first = lines.findIndex((l) => /^lab-[ab]\//.test(l));
  const table = lines.findIndex((l) => /^HOST +ROLE +CHANGES +TIME +RESULT$/.test(l));
  assert.ok(first >= 0 && table > first, "the apply's lines, then the closing table");
  for (const line of lines.slice(first, table).filter((l) => l)) assert.match(line, /^lab-[ab](\/mx)?[: ]/, `a line that does not say whose it is: ${line}`);
  for (const pod of ["lab-a", "lab-b"]) {
    assert.match(r.stdout, new RegExp(`^${pod}/mx: installed \\d+ package\\(s\\) in [\\d.]+s$`, "m"));
    // Whether Debian's package scripts already started postfix decides started, restarted or reloaded.
    assert.match(r.stdout, new RegExp(`^${pod}/mx mail: \\d+ files, .*\\d+ packages, .*(started|reloaded) [a-z0-9.@ -]*postfix`, "m"), "the mail role in one short line");
    assert.equal(lines.filter((l) => l.startsWith(`${pod}/mx mail: `)).length, 1, "one line per role, not one per file");
    for (const role of ["base", "tls", "web", "mail", "xmpp", "backup"]) {
      assert.match(r.stdout, new RegExp(`^${pod}/mx +${role} +\\d+ +[\\d.]+s +changed$`, "m"), `the table's row for ${pod} ${role}`);
    }
  }
  assert.match(r.stdout, /^\d+ change\(s\) on 2 host\(s\) in [\d.]+s$/m);
  assert.match(r.stdout, /^lab ready: /m);
});

test("a cold npm run lab on a terminal (tmux) shows one live line per host with apt's count and package while it installs", { timeout: 900_000 }, async (t) => {
  const version = spawnSync("tmux", ["-V"], { encoding: "utf8" });
  assert.equal(version.status, 0, `tmux is installed (scripts/setup.sh installs it): ${version.error?.message ?? version.stderr}`);
  t.diagnostic(version.stdout.trim());
  await recreateBoth();
  tmux("kill-server");
  // The pane stays after npm ends (the sleep), with its exit code, for the last snapshot.
  const started = tmux("new-session", "-d", "-s", SESSION, "-x", "200", "-y", "50", "-c", REPO,
    "env -u NO_COLOR npm run --silent lab; echo podkit-exit=$?; sleep 3600");
  assert.equal(started.status, 0, `tmux new-session: ${started.stderr}`);

  const snapshots: { at: number; text: string }[] = [];
  const t0 = Date.now();
  let text = "";
  while (Date.now() - t0 < 880_000) {
    await new Promise((r) => setTimeout(r, SNAPSHOT_EVERY_MS));
    const cap = tmux("capture-pane", "-p", "-t", SESSION);
    assert.equal(cap.status, 0, `tmux capture-pane: ${cap.stderr}`);
    text = cap.stdout.replace(/\n+$/, "");
    snapshots.push({ at: Date.now() - t0, text });
    t.diagnostic(`--- terminal at ${((Date.now() - t0) / 1000).toFixed(0)} s ---\n${text}`);
    if (/^podkit-exit=\d+$/m.test(text)) break;
  }
  // The whole scrollback once done: what stays on the screen.
  const whole = tmux("capture-pane", "-p", "-S", "-", "-t", SESSION).stdout;
  t.diagnostic(`--- the whole session once done ---\n${whole}`);
  assert.match(text, /^podkit-exit=0$/m, "npm run lab ended, and succeeded");

  const live = snapshots.filter((s) => s.text.split("\n").some((l) => /^lab-[ab]\/mx: (downloading|installing) \d+%/.test(l)));
  assert.ok(live.length > 0, "some snapshot shows the package installation live");
  assert.ok(snapshots.some((s) => /^lab-[ab]\/mx: installing \d+%, \d+( of \d+)? package\(s\) configured, now [a-z0-9.+-]+$/m.test(s.text)),
    "apt's count and current package on a host's line");
  for (const s of snapshots) {
    const perHost = new Map<string, number>();
    for (const l of s.text.split("\n")) {
      const m = LIVE.exec(l);
      if (m) perHost.set(m[1], (perHost.get(m[1]) ?? 0) + 1);
    }
    for (const [host, n] of perHost) assert.ok(n <= 1, `${host} has ${n} live lines at ${s.at} ms: one updating line, not a scroll\n${s.text}`);
  }
  // Once done, the live lines are gone; the lines that stay name pod and host, and the table closes.
  assert.ok(!whole.split("\n").some((l) => LIVE.test(l)), "no live line left on the screen");
  assert.match(whole, /^lab-a\/mx mail: /m);
  assert.match(whole, /^lab-b\/mx mail: /m);
  assert.match(whole, /^HOST +ROLE +CHANGES +TIME +RESULT$/m);
});
