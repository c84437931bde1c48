// `podkit apply <stack>`: converge the stack's existing and lab hosts.
import { runConverge } from "../converge-run";

const HELP = `usage: podkit apply <stack.yaml> [--host NAME]... [--role ROLE]... [--json] [--secrets FILE] [-i KEY]

Brings every host of the stack to what the stack describes, over one SSH
connection per host (host keys pinned). Config is checked by each daemon's own
checker before it goes live; a refused config leaves the old one running.
A second apply of an unchanged stack changes nothing.
  --host NAME     only these hosts          --role ROLE   only these roles
  --json          machine-readable report   --secrets F   secrets file
  -i, --identity  SSH private key for existing hosts (default: the SSH agent)
Exit: 0 applied, 1 a role failed (rolled back), 65 invalid stack, 69 host unreachable.`;

export const run = (argv: string[]) => runConverge(argv, HELP, false);
