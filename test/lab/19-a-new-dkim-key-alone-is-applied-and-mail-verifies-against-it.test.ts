// An admin replaces pod a's DKIM key under the same selector (a leaked key, or
// secrets restored from another copy) and changes nothing else. apply takes the new
// key, the lab DNS publishes it (as Cloudflare would under `pulumi up`), and mail
// from a verifies against it at b. The old key is put back afterwards.
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { authenticate } from "mailauth";
import { dkimPublicKey, GENERATED, newDkimKey, SecretStore } from "../../lib/stack/secrets";
import { REPO } from "./helpers";
import { fetchBySubject, submit, token } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

let pods: Pods;
let store: SecretStore;
let oldKey: string;
before(async () => {
  pods = await ensurePods();
  store = new SecretStore(path.join(REPO, "stacks/lab-a.secrets.yaml"));
  oldKey = store.get(GENERATED.dkimKey)!;
});
after(async () => {
  if (!oldKey) return;
  store.add({ [GENERATED.dkimKey]: oldKey });
  const back = await apply(pods.a.stack);
  assert.equal(back.report.exitCode, undefined, `putting the old key back: ${back.stderr}`);
});

test("a new DKIM key alone is applied, published, and mail from the pod verifies against it", async (t) => {
  const newKey = newDkimKey();
  store.add({ [GENERATED.dkimKey]: newKey });

  const r = await apply(pods.a.stack);
  assert.equal(r.report.exitCode, undefined, `apply with only a new DKIM key succeeds:\n${r.stderr}\n${r.report.errors?.join("\n")}`);
  const items: string[] = r.report.hosts.flatMap((h: any) => h.roles.flatMap((x: any) => x.items));
  t.diagnostic(`changed: ${items.join(", ")}`);
  assert.ok(items.includes("/etc/dkimkeys/pod.private"), "the key file was replaced");
  assert.ok(items.some((i) => /^restart rspamd\.service$/.test(i)), "the signer (rspamd) was restarted on the new key");

  // The published record is the new key's.
  const txt = (await pods.resolver.resolveTxt(`pod._domainkey.${pods.a.domain}`)).map((parts) => parts.join("")).join("");
  assert.ok(txt.includes(`p=${dkimPublicKey(newKey)}`), "the DNS record carries the new public key");

  const subject = token("new-dkim-key");
  await submit(pods, pods.a, "alice@a.test", pods.a.password("alice-password"), { to: "bob@b.test", subject, text: `signed with the new key: ${subject}` });
  const raw = await fetchBySubject(pods, pods.b, "bob@b.test", pods.b.password("bob-password"), subject);
  const auth = await authenticate(raw, {
    ip: pods.a.ip, helo: pods.a.mx, sender: "alice@a.test", mta: pods.b.mx,
    resolver: (name: string, rr: string) => pods.resolver.resolve(name, rr as "TXT") as Promise<any>,
  });
  const dkim = auth.dkim.results.find((x: any) => x.signingDomain === "a.test");
  t.diagnostic(`mailauth: dkim=${dkim?.status.result} (selector ${dkim?.selector}) dmarc=${auth.dmarc.status.result}`);
  assert.equal(dkim?.status.result, "pass", "the signature verifies against the newly published key");
  assert.equal(dkim?.selector, "pod", "under the same selector");
  assert.equal(auth.dmarc.status.result, "pass");
});
