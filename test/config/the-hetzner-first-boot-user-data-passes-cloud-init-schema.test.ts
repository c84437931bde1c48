// The user data `pulumi up` hands a new Hetzner server for stacks/hetzner.yaml,
// judged by the cloud-init of each Debian release podkit boots (bookworm has
// 22.4, trixie 25.1), in that release's checker root. A schema error there is
// a first boot that reports an error (cloud-init 23.4 and later:
// `cloud-init status --wait` exits 2). Then cloud-init's own ssh module runs on
// it, over an image's host keys, with the server's Hetzner keys as metadata:
// what the server's /etc/ssh and root's authorized_keys hold after first boot.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { parse } from "yaml";
import { cloudInitSchema, runCloudInitSshModule } from "../../lib/checker/cloud-init";
import { checkerRootOf } from "../../lib/checker/root";
import { RELEASE_CODENAMES } from "../../lib/stack/releases";
import { unwrap } from "../unit/provider-model";
import { hetznerConfig, runProgram } from "../unit/pulumi-runs";

const RELEASES = RELEASE_CODENAMES;

let userData: string;
/** The Hetzner SSH keys the server is created with (the deploy key alone), as the metadata service hands them to cloud-init. */
let serverKeys: string[];
before(() => {
  // What the program really passes to hcloud.Server, not a hand-built copy.
  const resources = runProgram(hetznerConfig());
  const server = resources.find((r) => r.type === "hcloud:index/server:Server");
  assert.ok(server, "stacks/hetzner.yaml has a server");
  userData = unwrap(server.inputs.userData) as string;
  assert.match(userData, /^#cloud-config\n/);
  const keys = resources.filter((r) => r.type === "hcloud:index/sshKey:SshKey");
  serverKeys = (server.inputs.sshKeys as string[]).map((id) => keys.find((k) => k.id === id)!.inputs.publicKey as string);
});

for (const release of RELEASES) {
  test(`cloud-init of ${release} accepts the user data of stacks/hetzner.yaml's server`, async () => {
    const r = await cloudInitSchema(checkerRootOf(release), userData);
    assert.equal(r.code, 0, `cloud-init schema on ${release} refused the user data:\n${r.output}`);
    assert.match(r.output, /^Valid (cloud-config|schema)/m, "cloud-init says the user data is valid (22.4: \"Valid cloud-config\", 25.1: \"Valid schema\")");
  });

  test(`cloud-init of ${release}, booting the user data, leaves only the pinned ed25519 host key and lets root in with the deploy key alone`, async () => {
    const hostKey = (parse(userData) as { ssh_keys: { ed25519_private: string; ed25519_public: string } }).ssh_keys;
    const after = await runCloudInitSshModule(checkerRootOf(release), userData, serverKeys);
    // The image's rsa, ecdsa and ed25519 keys are gone and no key was generated: only the pinned pair.
    assert.deepEqual(after.hostKeys, { ssh_host_ed25519_key: hostKey.ed25519_private, "ssh_host_ed25519_key.pub": hostKey.ed25519_public });
    // Root's authorized_keys: the deploy key, usable as root (no "login as another user" command before it).
    assert.equal(serverKeys.length, 1);
    assert.equal(after.rootAuthorizedKeys?.trim(), serverKeys[0]);
  });

  test(`cloud-init of ${release} refuses user data asking for no host key types at all (the check has teeth)`, async () => {
    const empty = userData.replace(/^ssh_genkeytypes:\n(  - .*\n)+/m, "ssh_genkeytypes: []\n");
    assert.notEqual(empty, userData);
    const r = await cloudInitSchema(checkerRootOf(release), empty);
    assert.notEqual(r.code, 0, r.output);
    assert.match(r.output, /ssh_genkeytypes: \[\] is too short/);
  });
}
