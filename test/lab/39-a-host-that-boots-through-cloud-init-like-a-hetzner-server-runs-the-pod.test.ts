// The Hetzner first boot, on a lab host: the Pulumi program's own user data for a
// server of b.test (under Pulumi's mocks, as `pulumi up` would hand it to
// hcloud.Server) goes into a NoCloud seed, and host b boots through the real
// cloud-init of Debian 13 from an image with cloud-init and host keys of its own.
// Afterwards the host offers exactly the pinned key, cloud-init reports no error,
// its names are set, podkit's first converge (which waits for cloud-init) succeeds,
// and mail crosses to and from the pod on it.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { before, test } from "node:test";
import { parse } from "yaml";
import { bareKey } from "../../lib/ssh/keys";
import { readLabState } from "../../lib/lab/state";
import { unwrap } from "../unit/provider-model";
import { editedHetznerStack, hetznerConfig, runProgram } from "../unit/pulumi-runs";
import { onHost, podkit, run } from "./helpers";
import { mailBothWays } from "./mailclients";
import { apply, ensurePods, type Pods } from "./pods";

let pods: Pods;
let userData: string;
let pinned: string;

before(async () => {
  pods = await ensurePods(["a"]);
  // stacks/hetzner.yaml moved to b.test: its server is mx.b.test, as lab-b's host is.
  const stack = editedHetznerStack((t) => t.replace(/example\.org/g, "b.test"));
  const server = runProgram(hetznerConfig(stack)).find((r) => r.type === "hcloud:index/server:Server");
  assert.ok(server, "the program creates a server");
  userData = unwrap(server.inputs.userData) as string;
  pinned = (parse(userData) as { ssh_keys: { ed25519_public: string } }).ssh_keys.ed25519_public.trim();
});

test("host b, booted through cloud-init from the program's user data, offers only the pinned key and reports a clean first boot", async (t) => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "podkit-cloud-")), "user-data");
  writeFileSync(file, userData, { mode: 0o600 });
  const r = await podkit("lab", "recreate", "b", "--release", "trixie", "--user-data", file);
  assert.equal(r.code, 0, r.stderr);
  t.diagnostic(r.stderr.trim().split("\n").at(-1)!);
  const state = readLabState()!;
  assert.equal(state.hosts.b.hostKey, bareKey(pinned), "the lab pins the key the user data gives");

  // Every key type asked for: only the pinned ed25519 key answers (the image's were removed, none generated).
  const scan = await run("ssh-keyscan", ["-T", "5", "-t", "rsa,ecdsa,ed25519", state.hosts.b.address]);
  const offered = scan.stdout.trim().split("\n").filter(Boolean).map((l) => l.split(" ").slice(1).join(" "));
  assert.deepEqual(offered, [bareKey(pinned)], `ssh-keyscan: ${scan.stdout}`);

  const status = await onHost(state, "b", "cloud-init status --wait >/dev/null; echo rc=$?; cloud-init status --long; hostname; hostname -f; ls /etc/ssh/ | grep ^ssh_host_");
  t.diagnostic(status.stdout.replace(/\n/g, " | "));
  assert.match(status.stdout, /^rc=0$/m, "cloud-init status --wait exits 0: done, no recoverable errors");
  assert.match(status.stdout, /^status: done$/m);
  assert.match(status.stdout, /^errors: \[\]$/m);
  assert.match(status.stdout, /^mx\nmx\.b\.test$/m, "hostname and FQDN from the user data");
  assert.match(status.stdout, /^ssh_host_ed25519_key\nssh_host_ed25519_key\.pub$/m, "no other host key file");
  assert.doesNotMatch(status.stdout, /ssh_host_(rsa|ecdsa)/);
});

test("podkit's first converge of the cloud host succeeds, after it only podkit's key file grants root, and mail crosses both ways", async () => {
  const r = await apply("stacks/lab-b.yaml");
  assert.equal(r.report.exitCode, undefined, r.stderr);
  const sshd = await onHost(readLabState()!, "b", "sshd -T | grep -i '^authorizedkeysfile'");
  assert.equal(sshd.stdout.trim(), "authorizedkeysfile /etc/ssh/authorized_keys.d/%u", "what cloud-init wrote to /root/.ssh grants nothing any more");

  await mailBothWays(pods, "the cloud-booted pod");
});
