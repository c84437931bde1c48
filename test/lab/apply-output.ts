// What `npm run lab` prints to a log (stdout a pipe) when it applies both pods to
// empty hosts: plain lines only, not one control character, every line of the apply
// naming its pod and host (both pods call their host mx), one short line per role,
// and the closing table. Test 01 checks its own first, cold `npm run lab` with it.
import assert from "node:assert/strict";
import type { Run } from "./helpers";

const CONTROL = /[\x00-\x09\x0b-\x1f\x7f]/;

export function assertColdLabLog(r: Run): void {
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
}
