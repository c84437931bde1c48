// A new account in a stack group finds the other members
// in its roster without adding anyone; a stranger cannot register an account.
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { after, before, test } from "node:test";
import { REPO } from "./helpers";
import { fetchBySubject } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";
import { login, xmlLib, type Session } from "./xmppclients";

let pods: Pods;
const open: Session[] = [];
const dir = mkdtempSync(path.join(tmpdir(), "podkit-group-"));
const stack = path.join(dir, "lab-a.yaml");
const secrets = path.join(dir, "lab-a.secrets.yaml");

before(async () => {
  pods = await ensurePods();
  const original = readFileSync(path.join(REPO, "stacks/lab-a.yaml"), "utf8");
  const edited = original.replace("\ngroups:\n", "\n  erin@a.test:\n    name: Erin\n    password: { secret: erin-password }\n    groups: [family]\n\ngroups:\n");
  assert.notEqual(edited, original);
  writeFileSync(stack, edited);
  writeFileSync(secrets, `${readFileSync(path.join(REPO, "stacks/lab-a.secrets.yaml"), "utf8")}erin-password: erins-first-day\n`, { mode: 0o600 });
});
after(async () => {
  await Promise.all(open.map((s) => s.stop()));
  await apply("stacks/lab-a.yaml");
});

test("a new account in the family group sees the other members in its roster without adding anyone", async (t) => {
  const r = await apply(stack, "--secrets", secrets);
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const erin = await login(pods, pods.a, "erin", "erins-first-day");
  open.push(erin);
  const { xml } = xmlLib();
  const roster = await erin.iq(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
  const items = roster.getChild("query", "jabber:iq:roster")!.getChildren("item").map((i) => ({ jid: i.attrs.jid, group: i.getChildText("group") }));
  t.diagnostic(`erin's roster: ${JSON.stringify(items)}`);
  assert.deepEqual(items.filter((i) => i.group === "Family").map((i) => i.jid).sort(), ["alice@a.test", "carol@a.test"]);
  // She can also read mail with the same password: one credential.
  await assert.rejects(fetchBySubject(pods, pods.a, "erin@a.test", "erins-first-day", "nothing-like-this", 1), /no message/);
});

test("a stranger cannot register an account: the server offers no registration and refuses one", async () => {
  const sock = tls.connect({ host: pods.a.ip, port: 5223, servername: "a.test", ca: pods.ca });
  await new Promise((r, j) => sock.once("secureConnect", r).once("error", j));
  let data = "";
  sock.on("data", (d) => (data += d.toString()));
  const until = async (re: RegExp) => {
    const deadline = Date.now() + 10_000;
    while (!re.test(data)) {
      if (Date.now() > deadline) throw new Error(`no ${re} in: ${data}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  sock.write("<?xml version='1.0'?><stream:stream to='a.test' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>");
  await until(/<\/stream:features>/);
  assert.doesNotMatch(data, /jabber\.org\/features\/iq-register/, "registration is not offered");
  sock.write("<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>stranger</username><password>letmein</password></query></iq>");
  await until(/id=['"]reg1['"][^>]*type=['"]error['"]|type=['"]error['"][^>]*id=['"]reg1['"]|<stream:error>/);
  assert.doesNotMatch(data, /type=['"]result['"]/);
  sock.destroy();
  await assert.rejects(login(pods, pods.a, "stranger", "letmein"), /not-authorized/);
});
