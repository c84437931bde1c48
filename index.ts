// The Pulumi program: one stack file in, the pod's cloud resources out. It only
// routes; each step lives in lib/. In order:
//   1. read the stack file (config podkit:stackFile, default stacks/<stack>.yaml)
//      and validate it completely: nothing is created from an invalid file;
//   2. read every secret it names from Pulumi config (podkit:<name>), as secrets;
//   3. the DKIM key and the other generated secrets (password salt key, TURN
//      secret), kept in Pulumi state so they survive any server;
//   4. the hosts: Hetzner servers created, existing hosts described;
//   5. DNS: Cloudflare records, or zone files as a stack output;
//   6. the roles on each host: one dynamic resource per host and role.
// See docs/pulumi.md for running it.
import * as pulumi from "@pulumi/pulumi";
import { dkimKey } from "./lib/infra/dkim";
import { generatedSecrets } from "./lib/infra/generated-secrets";
import { knownHosts as knownHostsOf } from "./lib/infra/host";
import { podHosts } from "./lib/infra/hosts";
import { podDns } from "./lib/pulumi/dns";
import { existingHostKey, podRoles } from "./lib/pulumi/roles";
import { loadStackForPulumi, resolveSecrets, stackFilePath } from "./lib/pulumi/stack";

const config = new pulumi.Config("podkit");
const file = stackFilePath(config);
const { stack, source } = loadStackForPulumi(file);
const configured = resolveSecrets(stack, source, config);
const sshPrivateKey = existingHostKey(stack, config);
// Every check that can stop the program has run: from here on resources are registered.
const secrets = { ...configured, ...generatedSecrets(stack, config) };
const dkim = stack.mail ? dkimKey(config) : undefined;
const pod = podHosts(stack);
const dns = podDns(stack, pod, dkim);

// ---- Roles --------------------------------------------------------------------
// After hosts and DNS exist: for each host, the roles it runs in apply order,
// one dynamic resource per (host, role) whose inputs are the role's rendered
// desired state, reaching the host through `pod[host].ssh` (pinned host key;
// the generated deploy key, or podkit:sshPrivateKey for existing hosts).
// `pulumi preview` shows which role on which host changes, file by file.
// --------------------------------------------------------------------------------
const roleResources = podRoles(stack, pod, {
  secrets, dkim,
  sshPrivateKey,
  dependsOn: dns.cloudflare ? [dns.cloudflare] : [],
});

export const stackFile = file;
/** Public addresses by host, as DNS publishes them. */
export const addresses = Object.fromEntries(Object.entries(pod).map(([h, p]) => [h, { ipv4: p.ipv4, ipv6: p.ipv6 }]));
/** Pinned SSH host key fingerprints by host: compare with `ssh-keygen -lf` on the console if in doubt. */
export const hostKeys = Object.fromEntries(Object.entries(pod).map(([h, p]) => [h, p.ssh.hostKeyFingerprint]));
/** Lines for ~/.ssh/known_hosts, so admins' own ssh trusts exactly the pinned keys: `pulumi stack output knownHosts >> ~/.ssh/known_hosts`. */
export const knownHosts = knownHostsOf(Object.values(pod));
/** How podkit reaches each host (the deploy key is a secret: `pulumi stack output hosts --show-secrets`). */
export const hosts = Object.fromEntries(Object.entries(pod).map(([h, p]) => [h, {
  fqdn: p.fqdn, kind: p.kind, address: p.ssh.host, port: p.ssh.port, user: p.ssh.user,
  hostKeyFingerprint: p.ssh.hostKeyFingerprint, hostKeyPublic: p.ssh.hostKeyPublic,
  deployPrivateKey: p.ssh.privateKey, volumeDevice: p.volumeDevice,
}]));
/** The DKIM key's origin: "generated" (in Pulumi state) or "config" (podkit:dkim-key). */
export const dkimKeySource = dkim?.source;
/** For dns.zonefile stacks: the complete zone files to load into the pod's DNS servers. */
export const zoneFiles = dns.zoneFiles;
/** By host and role: what the last converge changed, and the hash of the desired state it converged to. */
export const roles = Object.fromEntries(Object.entries(roleResources).map(([h, rs]) => [h,
  Object.fromEntries(Object.entries(rs).map(([r, res]) => [r, { changed: res.changed, stateHash: res.stateHash }]))]));
