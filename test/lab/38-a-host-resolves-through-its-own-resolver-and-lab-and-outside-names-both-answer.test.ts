// A pod's host resolves through its own resolver (unbound on loopback, role base):
// /etc/resolv.conf names it and is a regular file, and through it the lab's names
// (forwarded to the lab resolver, uncached) and names outside the lab (what apt
// needs) both answer. A name added to the lab's DNS is seen at once.
import assert from "node:assert/strict";
import { test } from "node:test";
import { removeLabRecord, setLabRecord } from "../../lib/lab/dns";
import { onHost } from "./helpers";
import { ensurePods } from "./pods";

test("the host's own resolver answers, resolv.conf names it as a regular file, and lab and outside names both resolve", async (t) => {
  const pods = await ensurePods(["a"]);
  const r = await onHost(pods.lab, "a", [
    "cat /etc/resolv.conf", "test ! -L /etc/resolv.conf && echo regular",
    "systemctl is-active unbound.service",
    "getent hosts mx.b.test", "getent hosts deb.debian.org >/dev/null && echo debian-resolves",
    "ps -o rss= -C unbound | head -n 1",
  ].join("; echo ---; "));
  assert.equal(r.code, 0, r.stderr);
  const [conf, regular, active, b, debian, rss] = r.stdout.split("---").map((s) => s.trim());
  assert.match(conf, /^nameserver 127\.0\.0\.1$/m);
  assert.doesNotMatch(conf, /^nameserver (?!127\.0\.0\.1$)/m, "no other resolver");
  assert.match(conf, /^options trust-ad edns0$/m);
  assert.equal(regular, "regular");
  assert.equal(active, "active");
  assert.match(b, new RegExp(`^${pods.b.ip.replace(/\./g, "\\.")}\\s`), "lab zones through the lab resolver");
  assert.equal(debian, "debian-resolves", "names outside the lab still resolve (apt works)");
  t.diagnostic(`unbound on lab host a: ${rss} kB RSS`);

  // The lab's zones are not cached on the host: a record added there answers at once.
  const owner = `fresh-${Date.now().toString(36)}.lab.test`;
  assert.notEqual((await onHost(pods.lab, "a", `getent hosts ${owner}`)).code, 0, "not there before");
  await setLabRecord("lab.test", owner, "A", "192.0.2.77");
  try {
    const seen = await onHost(pods.lab, "a", `getent hosts ${owner}`);
    assert.match(seen.stdout, /^192\.0\.2\.77\s/, seen.stdout + seen.stderr);
  } finally {
    await removeLabRecord("lab.test", owner, "A");
  }
});
