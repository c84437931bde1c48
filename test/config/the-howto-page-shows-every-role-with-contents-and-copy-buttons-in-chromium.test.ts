// `podkit howto --html` as a person sees it: Debian's chromium, headless, loads the
// page for the lab pod a.test from a file (no network), and its DOM has every
// role's section, a contents link to each, and a copy button on every block.
// The screenshot is kept under tmp/test-output/ (ignored by git) and its path printed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { howtoHtml } from "../../lib/howto/html";
import { renderHowto } from "../../lib/howto/markdown";
import { rolesByHost } from "../../lib/stack/derive";
import { loadPod } from "../../lib/stack/pod";
import { TEST_PROVIDERS } from "../unit/host-profiles";

const ROOT = join(__dirname, "..", "..");
const OUT = join(ROOT, "tmp", "test-output", "howto-html");

test("the how-to page for lab-a shows every role with a contents link and copy buttons in chromium", () => {
  const version = spawnSync("chromium", ["--version"], { encoding: "utf8" });
  if (version.error || version.status !== 0) {
    assert.fail(`chromium is not installed here: scripts/setup.sh installs it (CHECK_PACKAGES); run \`sudo scripts/setup.sh\` (${version.error?.message ?? version.stderr})`);
  }
  // The lab's secrets file may not exist (a fresh clone, no lab up): throwaway secrets
  // do, since the page shows placeholders only. The lab's state is the recorded one.
  const scratch = mkdtempSync(join(tmpdir(), "podkit-howto-html-"));
  const secrets = join(scratch, "lab-a.secrets.yaml");
  writeFileSync(secrets, ["alice", "carol"].map((a) => `${a}-password: ${a}-not-real\n`).join("") + "backup-rest-password: r\nbackup-prune-password: p\nbackup-passphrase: q\n", { mode: 0o600 });
  const pod = loadPod(join(ROOT, "stacks/lab-a.yaml"), { providers: TEST_PROVIDERS, secretsFile: secrets, generate: true, log: () => {} });
  mkdirSync(OUT, { recursive: true });
  const page = join(OUT, "lab-a.html");
  writeFileSync(page, howtoHtml(renderHowto(pod)));

  const chromium = (...args: string[]) => {
    const r = spawnSync("chromium", ["--headless", "--no-sandbox", "--disable-gpu", `--user-data-dir=${join(scratch, "profile")}`, "--window-size=1200,3000", ...args, `file://${page}`],
      { encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
    assert.equal(r.status, 0, `chromium ${args.join(" ")} failed: ${r.stderr}`);
    return r.stdout;
  };
  const dom = chromium("--dump-dom");
  const roles = Object.values(rolesByHost(pod.stack)).flat();
  assert.ok(roles.length >= 6, `lab-a runs ${roles.join(", ")}`);
  for (const role of [...new Set(roles)]) {
    assert.match(dom, new RegExp(`<h3 id="role-${role}">Role ${role}</h3>`), `the ${role} section is in the page`);
    assert.match(dom, new RegExp(`<a href="#role-${role}">Role ${role}</a>`), `the contents link to ${role}`);
  }
  for (const id of ["secrets", "dns-records"]) assert.match(dom, new RegExp(`<h2 id="${id}">`));
  const blocks = dom.match(/<pre data-lang=/g)?.length ?? 0;
  const buttons = dom.match(/<button type="button" class="copy"/g)?.length ?? 0;
  assert.ok(blocks > 100, `${blocks} code blocks`);
  assert.equal(buttons, blocks, "one copy button per code block");

  const png = join(OUT, "lab-a.png");
  chromium(`--screenshot=${png}`, "--hide-scrollbars");
  assert.ok(statSync(png).size > 10_000, "the screenshot holds a rendered page");
  console.log(`screenshot: ${png}\npage: ${page}`);
});
