// The cloud-init user data a new Hetzner server boots with. Its one job is the
// SSH host key: podkit generates it (in Pulumi state, encrypted), so the key is
// pinned before the server exists and the first connection is already verified.
// Everything else is the roles' business, over SSH.
// https://cloudinit.readthedocs.io/en/latest/reference/modules.html#ssh
//
// Who may log in is not here either. cloud-init writes the server's Hetzner SSH
// keys (the deploy key alone, lib/infra/hcloud.ts) to /root/.ssh/authorized_keys;
// that lets podkit in for its first apply, after which sshd reads only the base
// role's file (roles/base), so nothing cloud-init wrote grants access any more.
// This text must pass `cloud-init schema` of every Debian release podkit boots
// (test/config/the-hetzner-first-boot-user-data-passes-cloud-init-schema.test.ts):
// cloud-init 23.4 and later report a schema error as a recoverable error, and
// `cloud-init status --wait` then exits 2.
import { stringify } from "yaml";

export interface CloudInitArgs {
  /** Short host name ("mx") and full name ("mx.example.org"). */
  hostname: string;
  fqdn: string;
  /** The ed25519 host key pair, OpenSSH formats. */
  hostKeyPrivate: string;
  hostKeyPublic: string;
}

export function cloudInitUserData(a: CloudInitArgs): string {
  const config = {
    hostname: a.hostname,
    fqdn: a.fqdn,
    // The FQDN resolves on the host from the first boot (`hostname -f`): cloud-init adds
    // "127.0.1.1 <fqdn> <hostname>" to /etc/hosts when no such line is there. Not `true`,
    // which rewrites the whole file at every boot: the base role owns /etc/hosts after that.
    manage_etc_hosts: "localhost",
    // Remove the image's keys; the server gets exactly the key podkit pinned.
    ssh_deletekeys: true,
    // With ssh_keys given, cloud-init's ssh module writes those and generates no
    // key of any type (cc_ssh.handle: generation is the branch taken only without
    // ssh_keys, in 22.4 as in 25.1). ssh_genkeytypes is then never read, but the
    // schema refuses an empty list (minItems 1): it names the one type there is.
    ssh_keys: {
      ed25519_private: a.hostKeyPrivate,
      ed25519_public: a.hostKeyPublic.trim(),
    },
    ssh_genkeytypes: ["ed25519"],
    ssh_pwauth: false,
    // podkit logs in as root with the server's one Hetzner key (the deploy key). cloud-init's
    // default (disable_root: true) would prefix root's keys with a command that refuses the
    // login; whether an image's cloud.cfg turns that off is the image's business, not ours.
    disable_root: false,
    // sshd would otherwise look for (and log about) RSA and ECDSA keys that no longer exist.
    write_files: [
      {
        path: "/etc/ssh/sshd_config.d/10-podkit-hostkey.conf",
        permissions: "0644",
        content: "# Managed by podkit: the only host key is the ed25519 key pinned in Pulumi state.\nHostKey /etc/ssh/ssh_host_ed25519_key\n",
      },
    ],
  };
  return `#cloud-config\n${stringify(config, { lineWidth: 0 })}`;
}
