# Runs cloud-init's own ssh module (cc_ssh.handle) on /tmp/user-data, as the
# first boot of a Hetzner server does, in a checker root whose /etc/ssh and
# /root are throwaway tmpfs mounts (lib/checker/cloud-init.ts). The server's
# SSH keys from the metadata service (Hetzner's, for the server) are in
# /tmp/server-keys.json. Before it runs, /etc/ssh holds an image's own host
# keys of every type, as a cloud image does. Prints what is left: every host
# key file, and root's authorized_keys.
# https://github.com/canonical/cloud-init/blob/main/cloudinit/config/cc_ssh.py
import inspect
import json
import logging
import os
from unittest import mock

import yaml
from cloudinit.config import cc_ssh

cfg = yaml.safe_load(open("/tmp/user-data"))
server_keys = json.load(open("/tmp/server-keys.json"))
for kind in ("rsa", "ecdsa", "ed25519"):
    for suffix in ("", ".pub"):
        with open(f"/etc/ssh/ssh_host_{kind}_key{suffix}", "w") as f:
            f.write("the image's own key\n")

# What the module asks of the cloud: the metadata's SSH keys, and a Debian
# distro without a default user (root is the user on Hetzner).
cloud = mock.MagicMock()
cloud.get_public_ssh_keys.return_value = server_keys
cloud.distro.get_default_user.return_value = None
cloud.distro.osfamily = "debian"

# 22.4 passes a logger; 23.x and later do not.
params = inspect.signature(cc_ssh.handle).parameters
args = ("ssh", cfg, cloud, logging.getLogger("cc_ssh"), []) if "log" in params else ("ssh", cfg, cloud, [])
cc_ssh.handle(*args)

host_keys = {n: open(f"/etc/ssh/{n}").read() for n in sorted(os.listdir("/etc/ssh")) if n.startswith("ssh_host_")}
root_keys = "/root/.ssh/authorized_keys"
print(json.dumps({
    "hostKeys": host_keys,
    "rootAuthorizedKeys": open(root_keys).read() if os.path.exists(root_keys) else None,
}))
