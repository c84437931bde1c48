// The lab feeds a host's cloud-init as Hetzner feeds a server's: a NoCloud seed
// with the same user data, the only datasource, and no network config of its own.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { cloudInitUserData } from "../../lib/infra/cloudinit";
import { labMetaData, writeCloudInitSeed } from "../../lib/lab/cloud-init-seed";

const userData = cloudInitUserData({
  hostname: "mx", fqdn: "mx.a.test",
  hostKeyPrivate: "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----\n",
  hostKeyPublic: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx0vU6m2wq1ZpQx9GZyYbQe3Fh8m2H0o9n8b7v6c5d4",
});

test("the seed holds the user data and meta-data where NoCloud reads them, readable by root alone", () => {
  const root = mkdtempSync(join(tmpdir(), "podkit-seed-"));
  writeCloudInitSeed(root, { userData, metaData: labMetaData("lab-a-1", "mx") });
  const seed = join(root, "var/lib/cloud/seed/nocloud");
  assert.equal(readFileSync(join(seed, "user-data"), "utf8"), userData);
  assert.deepEqual(parse(readFileSync(join(seed, "meta-data"), "utf8")), { "instance-id": "lab-a-1", "local-hostname": "mx" });
  for (const f of ["user-data", "meta-data"]) assert.equal(statSync(join(seed, f)).mode & 0o777, 0o600, `${f} is 0600: the user data carries the host's private key`);
  assert.equal(statSync(seed).mode & 0o077, 0, "the seed directory is root's alone");
});

test("cloud-init is told NoCloud is its only datasource and the lab's network is not its business", () => {
  const root = mkdtempSync(join(tmpdir(), "podkit-seed-"));
  writeCloudInitSeed(root, { userData, metaData: labMetaData("lab-a-1", "mx") });
  const cfg = parse(readFileSync(join(root, "etc/cloud/cloud.cfg.d/90-podkit-lab.cfg"), "utf8"));
  assert.deepEqual(cfg, { datasource_list: ["NoCloud"], network: { config: "disabled" } });
});

test("writing the seed again replaces it: a new instance id is a new first boot", () => {
  const root = mkdtempSync(join(tmpdir(), "podkit-seed-"));
  writeCloudInitSeed(root, { userData, metaData: labMetaData("lab-a-1", "mx") });
  writeCloudInitSeed(root, { userData, metaData: labMetaData("lab-a-2", "mx") });
  assert.match(readFileSync(join(root, "var/lib/cloud/seed/nocloud/meta-data"), "utf8"), /^instance-id: lab-a-2$/m);
});
