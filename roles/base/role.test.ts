// The base role: its firewall and sshd drop-in for every example stack, loaded by
// nft and sshd in each release's checker root (a typo in the ruleset stops at nft); and on a
// host with a data volume, the mounts that put every place the pod keeps data on
// it before the daemons that write there may start.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertChecksPass, checkEdited, hostsWith, RELEASE_CODENAMES } from "../../test/config/role-checks";
import { withHostRoot } from "../../lib/checker/host-root";
import { join } from "node:path";
import { roleContext } from "../../lib/converge/pod";
import { HCLOUD_PROFILE } from "../../lib/infra/hcloud-provider";
import { loadStackFile } from "../../lib/stack/load";
import { base } from "./role";
import { DATA_DIRS } from "./data-volume";

for (const release of RELEASE_CODENAMES) {
  test(`every example stack's firewall and sshd config pass nft -c and sshd -t (${release})`, async (t) => {
    await assertChecksPass(t, "base", release);
  });

  test(`a typo in nftables.conf is refused by nft with its own message (${release})`, async () => {
    const r = await checkEdited("base", "/etc/nftables.conf", (c) => c.replace("policy drop;", "policy dorp;"), release);
    assert.equal(r.refused, "nft -c", r.output);
    assert.match(r.output, /syntax error, unexpected string, expecting accept or drop/, r.output);
  });
}

const loaded = loadStackFile(join(__dirname, "../../stacks/hetzner.yaml"));
assert.ok(loaded.ok);
const stack = loaded.stack;
const DEVICE = "/dev/disk/by-id/scsi-0HC_Volume_1042";
const render = (dataVolume?: string) => base.state(roleContext(stack, "mx", () => "x", { ...HCLOUD_PROFILE, ...(dataVolume ? { dataVolume } : {}) }));
const file = (state: ReturnType<typeof render>, path: string) => state.files.find((f) => f.path === path)?.content;

test("a host with a data volume mounts it by device id and bind-mounts mail, chat and backup staging from it", () => {
  const s = render(DEVICE);
  const volume = file(s, "/etc/systemd/system/srv-podkit.mount")!;
  assert.match(volume, /^What=\/dev\/disk\/by-id\/scsi-0HC_Volume_1042$/m);
  assert.match(volume, /^Where=\/srv\/podkit$/m);
  assert.match(volume, /^Options=.*nofail/m, "a missing volume does not stop the boot");
  for (const [path, unit, source] of [
    ["/var/mail/vhosts", "var-mail-vhosts.mount", "/srv/podkit/mail"],
    ["/var/lib/prosody", "var-lib-prosody.mount", "/srv/podkit/prosody"],
    ["/var/backups/podkit", "var-backups-podkit.mount", "/srv/podkit/backup-stage"],
  ]) {
    const bind = file(s, `/etc/systemd/system/${unit}`);
    assert.ok(bind, `${unit} exists`);
    assert.match(bind, new RegExp(`^What=${source}$`, "m"));
    assert.match(bind, new RegExp(`^Where=${path}$`, "m"));
    assert.match(bind, /^Options=bind/m);
  }
  // Each daemon that writes there requires its mount: without the volume it does not start.
  for (const d of DATA_DIRS) {
    for (const unit of d.units) {
      assert.match(file(s, `/etc/systemd/system/${unit}.d/10-podkit-data.conf`) ?? "", new RegExp(`^RequiresMountsFor=${d.path}$`, "m"), unit);
    }
  }
  // The mounts are started (in order: volume, directories, binds) before nftables and the rest; unit files are read first.
  const units = s.services!.map((x) => x.unit);
  assert.deepEqual(units.slice(0, 5), ["srv-podkit.mount", "podkit-data-dirs.service", "var-mail-vhosts.mount", "var-lib-prosody.mount", "var-backups-podkit.mount"]);
  assert.ok(s.handlers!.some((h) => h.run === "systemctl daemon-reload" && h.when.includes("/etc/systemd/system/srv-podkit.mount")));
  // What is already in a directory the first time is copied onto the volume, owners and modes kept.
  assert.match(file(s, "/etc/systemd/system/podkit-data-dirs.service")!, /cp -a \/var\/mail\/vhosts\/\. \/srv\/podkit\/mail\.new\//);
});

test("a host without a data volume mounts nothing", () => {
  const s = render();
  assert.deepEqual(s.files.filter((f) => /\.mount$|podkit-data/.test(f.path)).map((f) => f.path), []);
});

for (const release of RELEASE_CODENAMES) test(`sshd, with the role's files in place, reads root's keys from the role's file alone (${release})`, async () => {
  const { host } = hostsWith("base", release).find((h) => h.host.stack.endsWith("hetzner.yaml"))!;
  const r = await withHostRoot(host, (root) => root.sh("sshd -T -C user=root,host=admin.example,addr=192.0.2.1 | grep -i '^authorizedkeys'"));
  assert.equal(r.code, 0, r.output);
  // What sshd itself makes of every drop-in: no ~/.ssh/authorized_keys, no command asked for keys.
  assert.deepEqual(r.output.trim().split("\n").sort(), ["authorizedkeyscommand none", "authorizedkeyscommanduser none", "authorizedkeysfile /etc/ssh/authorized_keys.d/%u"]);
});

test("only root may ask the cloud's metadata service for the first-boot user data, which holds the host's private key", () => {
  const rules = file(render(), "/etc/nftables.conf")!;
  const output = rules.slice(rules.indexOf("chain output"));
  assert.match(output, /^\s*ip daddr 169\.254\.169\.254 meta skuid != 0 reject/m);
});
