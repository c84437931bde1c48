// What a person sees while `npm run lab` applies both pods to empty hosts.
//
// In a log (stdout a pipe): test 01 checks its own cold `npm run lab` (./apply-output.ts).
// On a terminal: a cold session recorded with tmux (a 200x50 pane, `tmux capture-pane -p` every few seconds,
// each snapshot printed as a diagnostic), showing one live line per host that
// follows apt's own progress, never a scroll of them.
//
// Hosts a and b are recreated empty before the run (a cold apply);
// their pods are applied again by the run itself, so later tests find them up,
// but mailboxes and chat archives of earlier tests are gone.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { ensureLab, podkit, REPO } from "./helpers";

// A tmux server of this test's own (its own socket): nothing of anyone's tmux is touched.
const TMUX = ["-L", "podkit-lab-test-38"];
const SESSION = "npm-run-lab";
const SNAPSHOT_EVERY_MS = 3000;
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
