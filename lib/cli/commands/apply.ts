// `podkit apply <stack>`: converge the stack's existing and lab hosts.
import { runConverge } from "../converge-run";

const HELP = `usage: podkit apply <stack.yaml>... [--host NAME]... [--role ROLE]... [--json] [-v] [--secrets FILE] [-i KEY] [--lock-wait S]

Brings every host of the stack to what the stack describes, over one SSH
connection per host (host keys pinned). Config is checked by each daemon's own
checker before it goes live; a refused config leaves the old one running.
Each service reloaded is then used as its clients use it (STARTTLS on 25 and
587 with the host's certificate, IMAPS, XMPP, HTTPS, STUN...); a failure puts
the old config back. One run per host at a time: while another podkit run
holds a host, apply waits (naming it) up to --lock-wait seconds, default 120.
Package operations an interrupted run left going are waited for (up to 10
min), an interrupted dpkg is finished first.
A second apply of an unchanged stack changes nothing. Several stack files:
their pods are applied side by side, each line naming its pod and host.
Prints a line per role ("lab-a/mx mail: 14 files, 9 packages, reloaded postfix"),
a closing table per host and, last, each failure with the command to run next;
on a terminal, a live line per host while packages install (NO_COLOR: no colour).
  --host NAME     only these hosts          --role ROLE   only these roles
  --json          machine-readable report   --secrets F   secrets file
  -v, --verbose   every file, package and unit a role changed, under its line
  -i, --identity  SSH private key for existing hosts (default: the SSH agent)
  --lock-wait S   seconds to wait for another run holding a host (0: refuse at once)
Exit: 0 applied, 1 a role failed (rolled back), 65 invalid stack, 69 host unreachable,
75 another podkit run held a host longer than --lock-wait (try again).`;

export const run = (argv: string[]) => runConverge(argv, HELP, false);
