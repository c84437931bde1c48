// `podkit apply` learns what a host is in the facts round-trip it makes anyway,
// renders the host's roles for that, and a second apply of an unchanged stack
// still takes one round-trip. A fake session plays the host: it answers the
// facts script with the recorded detection output of a real host and the
// facts of a host where the roles were already applied.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { convergeHost, ConvergeError } from "../../lib/converge/apply";
import { sha256 } from "../../lib/converge/changes";
import { planWork } from "../../lib/converge/pod";
import type { Session } from "../../lib/converge/ssh";
import type { RoleState } from "../../lib/converge/types";
import { detectProfile } from "../../lib/cli/host-detection";
import { profileFromFacts, parseHostFacts, profileMismatches } from "../../lib/converge/host-facts";
import { loadPod } from "../../lib/stack/pod";
import { TEST_PROVIDERS } from "./host-profiles";

const ROOT = join(__dirname, "..", "..");
const recorded = (name: string) => readFileSync(join(ROOT, "test", "fixtures", "host-facts", `${name}.txt`), "utf8");

/** The hackspace stack (one existing host, "box"), with `profile` added to the host, and secrets. */
function hackspacePod(profile?: string) {
  const dir = mkdtempSync(join(tmpdir(), "podkit-detect-"));
  let text = readFileSync(join(ROOT, "stacks", "hackspace.yaml"), "utf8");
  if (profile) {
    text = text.replace(/^( +)ssh: \{ host: 192\.0\.2\.25.*$/m, (line, indent: string) => `${line}\n${indent}profile: ${profile}`);
    assert.match(text, /profile: /);
  }
  writeFileSync(join(dir, "s.yaml"), text);
  const dkim = generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  writeFileSync(join(dir, "s.secrets.yaml"), `ada-password: a\ngrace-password: g\nrelay-password: r\npassword-salt: s\nturn-secret: t\ndkim-key: |\n${dkim.trimEnd().replace(/^/gm, "  ")}\n`, { mode: 0o600 });
  return loadPod(join(dir, "s.yaml"), { providers: TEST_PROVIDERS, requireSecrets: true, log: () => undefined });
}

/** What the facts script prints on a host where `applied` is in place, plus the host's detection output. */
function factsOutput(applied: RoleState[], detection: string, script: string): string {
  const lines: string[] = [];
  for (const r of applied) {
    for (const f of r.files) {
      if (!script.includes(f.path)) continue;
      lines.push(`S ${(f.mode ?? 0o644).toString(8)} ${f.owner ?? "root"} ${f.group ?? f.owner ?? "root"} ${f.path}`, `H ${sha256(f.content)}  ${f.path}`);
    }
    for (const d of r.dirs ?? []) lines.push(`D ${(d.mode ?? 0o755).toString(8)} ${d.owner ?? "root"} ${d.group ?? d.owner ?? "root"} ${d.path}`);
    for (const p of r.packages) lines.push(`P ${p} installed 1.0`);
    for (const u of r.users ?? []) lines.push(`W ${u.name}`);
    for (const g of r.groups ?? []) lines.push(`R ${g.name}`);
    for (const s of r.services ?? []) lines.push(`UId ${s.unit}`, "UActiveState active", "UUnitFileState enabled");
  }
  return `${lines.join("\n")}\n${script.includes("systemd-detect-virt") ? detection : ""}`;
}

/** A facts round-trip (lib/converge/facts.ts), as opposed to a script that changes the host. */
const isFactsLook = (script: string) => script.startsWith("set -u\nexport LC_ALL=C\n");

/** A session that plays a host: answers facts scripts, counts round-trips, and fails on anything that would change the host. */
function fakeHost(applied: RoleState[], detection: string) {
  const scripts: string[] = [];
  const session = {
    target: { name: "box" },
    async run(script: string) {
      scripts.push(script);
      return { code: 0, stdout: factsOutput(applied, detection, script), stderr: "" };
    },
    async must(script: string) {
      return (await this.run(script)).stdout;
    },
    close() {},
  };
  return { session: session as unknown as Session, scripts };
}

test("an existing host that turns out to be an IPv4-only nspawn container is applied as one, in one round-trip when nothing changes", async () => {
  const pod = hackspacePod();
  const [work] = planWork(pod);
  assert.equal(work.profile.virtualization, "none", "before anything looks, an existing host is a machine of its own");
  assert.ok(work.states.some((r) => r.packages.includes("systemd-timesyncd")));
  // What the last apply left on the container: the roles as rendered for it.
  const detection = recorded("nspawn-ipv4-only");
  const onHost = work.render(profileFromFacts(work.profile, parseHostFacts(detection), {}));
  const host = fakeHost(onHost, detection);
  const lines: string[] = [];
  const report = await convergeHost(host.session, work.states, { onHost: detectProfile(pod.stack, work, (l) => lines.push(l)).onHost });

  assert.equal(host.scripts.length, 1, "one round-trip: facts and detection together");
  assert.deepEqual(report.roles.flatMap((r) => r.changes), [], "nothing to change: the roles were rendered for the container");
  assert.deepEqual(lines, [
    "box: Debian 12 (bookworm), container (systemd-nspawn), IPv4 only",
    "box: time sync is the job of the machine outside this container: podkit installs no systemd-timesyncd here",
  ]);
  const mainCf = onHost.flatMap((r) => r.files).find((f) => f.path === "/etc/postfix/main.cf")!.content;
  assert.match(mainCf, /^inet_protocols = ipv4$/m);
});

test("a host whose roles need facts the first look did not ask for is looked at a second time, and only then", async () => {
  // Declared a container, but the host is a VM: the VM's roles want systemd-timesyncd, which nobody asked about.
  const pod = hackspacePod("{ virtualization: container }");
  const [work] = planWork(pod);
  assert.ok(!work.states.some((r) => r.packages.includes("systemd-timesyncd")));
  const detection = recorded("vm-hetzner-kvm");
  const asVm = work.render(profileFromFacts(work.profile, parseHostFacts(detection), {}));
  const host = fakeHost(asVm, detection);
  const report = await convergeHost(host.session, work.states, { onHost: detectProfile(pod.stack, work, () => undefined).onHost });
  // The declared fact wins: still rendered as a container, so one look is enough. (What it then
  // changes is not this test's business: the check role's unit list differs for a VM, which the
  // host was rendered as, and a container; only the looks are counted.)
  assert.equal(host.scripts.filter(isFactsLook).length, 1);
  assert.ok(!report.roles.some((r) => r.changes.includes("+pkg systemd-timesyncd")));

  const undeclared = hackspacePod();
  const [w] = planWork(undeclared);
  const guessedContainer = { ...w, states: w.render({ ...w.profile, virtualization: "container" }) };
  const vmHost = fakeHost(w.render(profileFromFacts(w.profile, parseHostFacts(detection), {})), detection);
  await convergeHost(vmHost.session, guessedContainer.states, { onHost: detectProfile(undeclared.stack, w, () => undefined).onHost });
  assert.equal(vmHost.scripts.length, 2, "the second look asks for systemd-timesyncd");
  assert.match(vmHost.scripts[1], /systemd-timesyncd/);
});

test("a host that is not what its roles were rendered for stops the converge before anything changes, naming the field to set", async () => {
  const pod = hackspacePod();
  const [work] = planWork(pod);
  const detection = recorded("nspawn-ipv4-only");
  const host = fakeHost(work.states, detection);
  // What the Pulumi role provider does for an existing host (lib/pulumi/role-provider.ts).
  const onHost = (facts: ReturnType<typeof parseHostFacts>) => {
    const differ = profileMismatches(work.profile, facts!, {}, "hosts.box.existing.profile");
    if (differ.length) throw new Error(differ.join("; "));
    return work.states;
  };
  await assert.rejects(convergeHost(host.session, work.states, { onHost }), (err: Error) =>
    err instanceof ConvergeError && /set hosts\.box\.existing\.profile\.virtualization: "container"/.test(err.message));
  assert.equal(host.scripts.length, 1, "only the facts were gathered");
});

test("a host on a Debian release podkit has no configs for is refused after the facts look, before anything changes", async () => {
  const pod = hackspacePod();
  const [work] = planWork(pod);
  const detection = recorded("vm-bullseye");
  const host = fakeHost([], detection);
  const lines: string[] = [];
  await assert.rejects(convergeHost(host.session, work.states, { onHost: detectProfile(pod.stack, work, (l) => lines.push(l)).onHost }), (err: Error) =>
    err instanceof ConvergeError && /this host runs Debian 11 \(bullseye\)\. podkit renders configs for Debian 12 \(bookworm\) or Debian 13 \(trixie\) only/.test(err.message));
  assert.equal(host.scripts.length, 1, "only the facts were gathered: no package, file or service touched");
  assert.equal(lines[0], "box: Debian 11 (bullseye), vm (qemu), IPv4 only");
});

test("a Debian 13 host is applied with the trixie configs (Dovecot 2.4), whatever the kind of host guessed before looking", async () => {
  const pod = hackspacePod();
  const [work] = planWork(pod);
  assert.equal(work.profile.release, "bookworm", "an existing host is taken for bookworm before anything looks");
  const detection = recorded("vm-nftables-not-installed-trixie");
  const onTrixie = work.render(profileFromFacts(work.profile, parseHostFacts(detection), {}));
  const host = fakeHost(onTrixie, detection);
  const report = await convergeHost(host.session, work.states, { onHost: detectProfile(pod.stack, work, () => undefined).onHost, dryRun: true });
  assert.deepEqual(report.roles.flatMap((r) => r.changes), [], "the host already has the trixie configs: nothing to change");
  const dovecot = onTrixie.flatMap((r) => r.files).find((f) => f.path === "/etc/dovecot/dovecot.conf")!.content;
  assert.match(dovecot, /^dovecot_config_version = 2\.4/m);
});
