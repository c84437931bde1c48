// A role that replaced a daemon (rspamd for OpenDKIM and OpenDMARC) says so
// in `retired`: an apply stops, disables and removes the old one on a host
// that had it, after the role's own services are back up, and does nothing
// on a host that never had it, from the facts it gathers anyway.
import assert from "node:assert/strict";
import { test } from "node:test";
import { describeActions, hasWork, roleActions } from "../../lib/converge/actions";
import { convergeHost } from "../../lib/converge/apply";
import { queryFor, sha256, wantedPackages } from "../../lib/converge/changes";
import { factsScript, parseFacts } from "../../lib/converge/facts";
import { retireScript } from "../../lib/converge/scripts";
import type { Session } from "../../lib/converge/ssh";
import type { Facts, RoleState } from "../../lib/converge/types";

const role: RoleState = {
  role: "mail",
  packages: ["rspamd"],
  files: [{ path: "/etc/rspamd/local.d/actions.conf", content: "reject = 15;\n" }],
  services: [{ unit: "rspamd.service", watch: ["/etc/rspamd/"], ports: [11332] }],
  retired: { units: ["opendkim.service", "opendmarc.service"], packages: ["opendkim", "opendmarc"] },
};

/** A host where the role's own part is in place; `old` adds what the previous design left. */
function facts(old: "running" | "stopped but enabled" | "never"): Facts {
  const f: Facts = {
    files: { "/etc/rspamd/local.d/actions.conf": { sha256: sha256("reject = 15;\n"), mode: 0o644, owner: "root", group: "root" } },
    dirs: {},
    packages: { rspamd: "3.4-1" },
    // What `systemctl show` answers for a unit that does not exist.
    units: { "rspamd.service": { active: "active", enabled: "enabled" }, "opendkim.service": { active: "inactive", enabled: "" }, "opendmarc.service": { active: "inactive", enabled: "" } },
    dueHandlers: [],
    users: [],
  };
  if (old !== "never") {
    f.packages.opendkim = "2.11.0~beta2-8";
    f.packages.opendmarc = "1.4.2-2";
    f.units["opendkim.service"] = { active: old === "running" ? "active" : "inactive", enabled: "enabled" };
    f.units["opendmarc.service"] = { active: old === "running" ? "active" : "failed", enabled: "enabled" };
  }
  return f;
}

test("on a host that runs the retired daemons, apply stops and disables their units and removes their packages", () => {
  for (const old of ["running", "stopped but enabled"] as const) {
    const a = roleActions(role, facts(old));
    assert.equal(hasWork(a), true, old);
    assert.deepEqual(a.retire, { units: ["opendkim.service", "opendmarc.service"], packages: ["opendkim", "opendmarc"] }, old);
    assert.deepEqual(describeActions(a), ["stop and disable opendkim.service", "stop and disable opendmarc.service", "-pkg opendkim", "-pkg opendmarc"], old);
  }
});

test("on a host that never had them, or where they are gone, there is nothing to do", () => {
  const a = roleActions(role, facts("never"));
  assert.equal(hasWork(a), false);
  assert.deepEqual(describeActions(a), []);
  // Removed before, the config left behind (remove, not purge): the unit file went with the package.
  const removed = facts("never");
  removed.units["opendkim.service"] = { active: "inactive", enabled: "" };
  assert.equal(hasWork(roleActions(role, removed)), false);
});

test("a unit that a package installed in the same run brings (and starts) is retired in that run, so one apply converges", () => {
  // base keeps unattended-upgrades but not its idle shutdown helper.
  const keeper: RoleState = { role: "base", packages: ["unattended-upgrades"], files: [], retired: { units: ["unattended-upgrades.service"] } };
  const absent = { active: "inactive", enabled: "" };
  const cold: Facts = { files: {}, dirs: {}, packages: {}, units: { "unattended-upgrades.service": absent }, dueHandlers: [], users: [] };
  assert.deepEqual(roleActions(keeper, cold).retire, { units: ["unattended-upgrades.service"], packages: [] });
  assert.match(retireScript(["unattended-upgrades.service"], []), /if systemctl cat 'unattended-upgrades\.service' >\/dev\/null 2>&1; then systemctl disable --now/);
  // A role retiring a package too does not guess: on a cold host its old units are not there.
  assert.deepEqual(roleActions({ ...role, packages: ["rspamd"] }, { ...facts("never"), packages: {} }).retire, { units: [], packages: [] });
  // Installed and retired before: nothing more.
  const done: Facts = { ...cold, packages: { "unattended-upgrades": "2.12" }, units: { "unattended-upgrades.service": { active: "inactive", enabled: "disabled" } } };
  assert.equal(hasWork(roleActions(keeper, done)), false);
  // Installed by hand and running: stopped and disabled, the package stays.
  const running: Facts = { ...done, units: { "unattended-upgrades.service": { active: "active", enabled: "enabled" } } };
  assert.deepEqual(roleActions(keeper, running).retire, { units: ["unattended-upgrades.service"], packages: [] });
});

test("the one facts round-trip asks about the retired units and packages, and apply never installs them", () => {
  const q = queryFor([role]);
  assert.deepEqual(q.packages, ["rspamd", "opendkim", "opendmarc"]);
  assert.deepEqual(q.units, ["rspamd.service", "opendkim.service", "opendmarc.service"]);
  assert.deepEqual(wantedPackages([role]), ["rspamd"]);
  const script = factsScript(q);
  assert.match(script, /dpkg-query .*'opendkim' 'opendmarc'/);
  const parsed = parseFacts("P opendkim deinstall 2.11.0\nP opendmarc installed 1.4.2-2\nUId opendkim.service\nUActiveState inactive\nUUnitFileState \n", q);
  // A package removed earlier (dpkg status "deinstall", config left) counts as gone.
  assert.deepEqual(parsed.packages, { opendmarc: "1.4.2-2" });
});

test("retiring removes the packages without purging their config and stops the units for good", () => {
  const s = retireScript(["opendkim.service"], ["opendkim"]);
  assert.match(s, /systemctl disable --now 'opendkim\.service'/);
  assert.match(s, /apt-get remove -y -qq -o DPkg::Lock::Timeout=\d+ 'opendkim'/);
  assert.doesNotMatch(s, /purge|autoremove/);
});

/** Plays a host with the old daemons running: answers the facts script, records every other script. */
function hostWithOldDaemons() {
  const scripts: string[] = [];
  const f = facts("running");
  const factsOut = [
    ...Object.entries(f.packages).map(([p, v]) => `P ${p} installed ${v}`),
    ...Object.entries(f.units).flatMap(([u, s]) => [`UId ${u}`, `UActiveState ${s.active}`, `UUnitFileState ${s.enabled}`]),
    // The role's file changed since: rspamd reloads before anything is retired.
    `S 644 root root /etc/rspamd/local.d/actions.conf`, `H ${sha256("reject = 10;\n")}  /etc/rspamd/local.d/actions.conf`,
  ].join("\n");
  const session = {
    target: { name: "box" },
    async run(script: string) {
      scripts.push(script);
      return { code: 0, stdout: script.includes("dpkg-query") ? factsOut : "", stderr: "" };
    },
    async must(script: string) {
      return (await this.run(script)).stdout;
    },
    close() {},
  };
  return { session: session as unknown as Session, scripts };
}

test("the old daemons go only after the role's new service answered: mail is never without a filter", async () => {
  const host = hostWithOldDaemons();
  const report = await convergeHost(host.session, [role]);
  const reload = host.scripts.findIndex((s) => s.includes("rspamd.service") && !s.includes("dpkg-query"));
  const retire = host.scripts.findIndex((s) => s.includes("apt-get remove"));
  assert.ok(reload >= 0 && retire > reload, host.scripts.join("\n----\n"));
  assert.equal(retire, host.scripts.length - 1, "retiring is the last step");
  // (The retire script's first lines may finish a dpkg run a killed apply left half done,
  // `apt-get install -f`: that installs nothing new.)
  assert.ok(!host.scripts.some((s) => /apt_install|--no-install-recommends/.test(s)), "nothing is installed: the retired packages are not wanted");
  assert.deepEqual(report.roles[0].changes.filter((c) => /opend/.test(c)), ["stop and disable opendkim.service", "stop and disable opendmarc.service", "-pkg opendkim", "-pkg opendmarc"]);
});
