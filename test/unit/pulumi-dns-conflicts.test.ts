// Before `pulumi up` creates the pod's records at Cloudflare, the records
// already in its zones are read (getDnsRecords) and checked: planted
// conflicts (a second SPF, another MX, a second DMARC, a CNAME where the pod
// needs an address) stop the run with the list and what to do, and no record
// is created; unrelated records and podkit's own are left alone.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import type { ZoneRecord } from "../../lib/dns/conflicts";
import { hetznerConfig, runProgram, runProgramFully } from "./pulumi-runs";
import type { RunResult } from "./pulumi-run";

const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";

const PLANTED: Record<string, ZoneRecord[]> = {
  "example.org": [
    { id: "r1", name: "example.org", type: "TXT", content: '"v=spf1 include:_spf.google.com ~all"', comment: null },
    { id: "r2", name: "example.org", type: "MX", content: "aspmx.l.google.com", priority: 1, comment: null },
    { id: "r3", name: "_dmarc.example.org", type: "TXT", content: '"v=DMARC1; p=none"', comment: null },
    { id: "r4", name: "autoconfig.example.org", type: "CNAME", content: "autoconfig.old-provider.example", comment: null },
    // Not conflicts: another name, another kind of TXT.
    { id: "r5", name: "www.example.org", type: "A", content: "198.51.100.80", comment: null },
    { id: "r6", name: "example.org", type: "TXT", content: '"google-site-verification=abc"', comment: null },
  ],
};

let run: { result: RunResult; stderr: string };
before(() => {
  run = runProgramFully({ ...hetznerConfig(), zoneRecords: PLANTED });
});

test("planted conflicting records are listed once, each with what to do, and no record of the pod is created", () => {
  const text = run.stderr;
  const listed = [...text.matchAll(/^ {2}(example\.\w+): (\S+) (\S+) /gm)].map((m) => `${m[2]} ${m[3]}`);
  assert.deepEqual(listed.sort(), ["_dmarc.example.org TXT", "autoconfig.example.org CNAME", "example.org MX", "example.org TXT"], text);
  assert.match(text, /example\.org TXT "v=spf1 include:_spf\.google\.com ~all"\n\s+a second SPF record: .*permerror.*\n\s+What to do: delete it; if it allowed another sender .* mail\.relay\.spf/);
  assert.match(text, /example\.org MX 1 aspmx\.l\.google\.com\n\s+another MX: senders would split mail .*\n\s+What to do: move the mailboxes/);
  assert.match(text, /_dmarc\.example\.org TXT "v=DMARC1; p=none"\n\s+a second DMARC record: receivers then apply no DMARC policy/);
  assert.match(text, /autoconfig\.example\.org CNAME autoconfig\.old-provider\.example\n\s+a CNAME where the pod publishes A, AAAA/);
  assert.equal(text.split("no DNS record was created").length - 1, 1, "the list is said once");
  assert.deepEqual(run.result.resources.filter((r) => r.type === DNS_RECORD).map((r) => r.inputs.name), [], "no record created");
  assert.ok(run.result.failures.length > 0 && run.result.failures.every((f) => /records already in the zone conflict/.test(f)), "each record fails, pointing at the list");
  // The servers and keys are still made: only DNS waits for the zone to be cleaned up.
  assert.ok(run.result.resources.some((r) => r.type === "hcloud:index/server:Server"));
});

test("a second run finds podkit's own records in the zone and sees no conflict", () => {
  const first = runProgram(hetznerConfig());
  const second = runProgramFully({ ...hetznerConfig(), previous: first });
  assert.deepEqual(second.result.failures, []);
  assert.ok(!second.stderr.includes("conflict"), second.stderr);
});
