// The cloud-init user data a new Hetzner server boots with. Its one job is the
// SSH host key: podkit generates it (in Pulumi state, encrypted), so the key is
// pinned before the server exists and the first connection is already verified.
// Everything else is the roles' business, over SSH.
// https://cloudinit.readthedocs.io/en/latest/reference/modules.html#ssh
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
    // Remove the image's keys and generate none: the server has exactly the key podkit pinned.
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: {
      ed25519_private: a.hostKeyPrivate,
      ed25519_public: a.hostKeyPublic.trim(),
    },
    ssh_pwauth: false,
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
