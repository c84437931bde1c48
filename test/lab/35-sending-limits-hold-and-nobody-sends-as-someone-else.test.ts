// What stops a member's stolen password or a forger from using the pod: a
// member over the stack's message limit is told to wait (4xx) and loses nothing;
// too many recipients are refused one by one, temporarily; a member may not put
// another member's address in the header From; and another server may not
// deliver mail claiming the pod's own domain without its signature.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import nodemailer from "nodemailer";
import { REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { deliver } from "./smtp";

const SECRETS = path.join(REPO, "stacks/lab-a.secrets.yaml");
const WINDOW_S = 30;
let pods: Pods;
let limited: string;

before(async () => {
  pods = await ensurePods(["a"]);
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  // Small limits, so the test sees them without sending hundreds of messages or waiting an hour.
  const edited = original.replace(/^mail:\n  host: mx\n/m, `mail:\n  host: mx\n  limits:\n    messages: { count: 3, per: ${WINDOW_S}s }\n    recipientsPerMessage: 2\n`);
  assert.notEqual(edited, original, "the lab stack's mail block starts with its host");
  limited = path.join(mkdtempSync(path.join(tmpdir(), "podkit-limits-")), "lab-a.yaml");
  writeFileSync(limited, edited);
});

after(async () => {
  await apply("stacks/lab-a.yaml");
});

test("a member over the message limit gets a 4xx, every earlier message arrived, and after the window sending works again", async (t) => {
  const r = await apply(limited, "--secrets", SECRETS);
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const alice = pods.a.password("alice-password");
  const subjects = [token("limit-1"), token("limit-2"), token("limit-3")];
  for (const subject of subjects) {
    await submit(pods, pods.a, "alice@a.test", alice, { to: "carol@a.test", subject, text: "within the limit" });
  }
  const over = token("limit-over");
  await assert.rejects(
    submit(pods, pods.a, "alice@a.test", alice, { to: "carol@a.test", subject: over, text: "one too many" }),
    (e: any) => {
      t.diagnostic(`over the limit: ${e.response}`);
      return e.responseCode >= 400 && e.responseCode < 500;
    },
  );
  for (const subject of subjects) await fetchBySubject(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), subject);

  await new Promise((res) => setTimeout(res, WINDOW_S * 1000));
  const again = token("limit-again");
  const sent = await submit(pods, pods.a, "alice@a.test", alice, { to: "carol@a.test", subject: again, text: "after the window" });
  assert.match(sent.response, /^250 /);
  await fetchBySubject(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), again);
});

test("recipients over the per-message limit are refused with a 4xx, the others get the message", async (t) => {
  const subject = token("recipients");
  const transport = nodemailer.createTransport({
    host: pods.a.ip, port: 587, requireTLS: true, auth: { user: "carol@a.test", pass: pods.a.password("carol-password") },
    tls: { servername: pods.a.mx, ca: pods.ca },
  });
  try {
    const info = await transport.sendMail({ from: "carol@a.test", to: ["alice@a.test", "postmaster@a.test", "bob@b.test"], subject, text: "three recipients" });
    t.diagnostic(`accepted ${JSON.stringify(info.accepted)} rejected ${JSON.stringify(info.rejected)}: ${JSON.stringify((info as any).rejectedErrors?.map((e: any) => e.response))}`);
    assert.deepEqual(info.accepted, ["alice@a.test", "postmaster@a.test"]);
    assert.deepEqual(info.rejected, ["bob@b.test"]);
    assert.ok((info as any).rejectedErrors.every((e: any) => e.responseCode >= 400 && e.responseCode < 500), "temporary, so the client retries it");
  } finally {
    transport.close();
  }
  await fetchBySubject(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), subject);
});

test("a member cannot send with another member's address in the header From", async (t) => {
  const transport = nodemailer.createTransport({
    host: pods.a.ip, port: 587, requireTLS: true, auth: { user: "carol@a.test", pass: pods.a.password("carol-password") },
    tls: { servername: pods.a.mx, ca: pods.ca },
  });
  const subject = token("header-from");
  try {
    await assert.rejects(
      transport.sendMail({ envelope: { from: "carol@a.test", to: "bob@b.test" }, from: "Alice <alice@a.test>", to: "bob@b.test", subject, text: "pretending to be alice" }),
      (e: any) => {
        t.diagnostic(`refused: ${e.response}`);
        return e.responseCode >= 500 && e.responseCode < 600;
      },
    );
    // Her own address (and her envelope) still work.
    const ok = await transport.sendMail({ from: "Carol <carol@a.test>", to: "alice@a.test", subject: `${subject}-own`, text: "as herself" });
    assert.match(ok.response, /^250 /);
  } finally {
    transport.close();
  }
});

test("another server delivering mail that claims alice@a.test without a.test's signature is refused", async (t) => {
  const subject = token("forged");
  await assert.rejects(
    deliver(pods, pods.a, { from: "bounce@gw.lab.test", headerFrom: "alice@a.test", to: "carol@a.test", subject, text: "I am alice, honest" }),
    (e: any) => {
      t.diagnostic(`refused: ${e.command} -> ${e.response}`);
      return e.responseCode >= 500 && e.responseCode < 600;
    },
  );
  // The same from a.test's own member, signed by the pod, is fine (local delivery included).
  const real = token("genuine");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "carol@a.test", subject: real, text: "really alice" });
  await fetchBySubject(pods, pods.a, "carol@a.test", pods.a.password("carol-password"), real);
});
