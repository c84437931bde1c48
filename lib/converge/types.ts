// The desired state a role declares, and what converging finds on a host.
// Roles only describe; lib/converge compares and acts.
import type { HostFacts } from "./host-facts";

export interface FileSpec {
  path: string;
  content: string;
  /** Octal mode; default 0o644. */
  mode?: number;
  owner?: string;
  group?: string;
  /** Never shown in diffs or logs (keys, password files). */
  secret?: boolean;
}

export interface UserSpec {
  name: string;
  home: string;
}

/**
 * A system group several roles' daemons share (podkit-members: Dovecot,
 * Prosody and the account page read the members' password file). Created
 * right after the users, before any role's directories and files, so a file
 * may name it whichever role declares it. Who is in it is each role's own
 * handler (adduser, then a restart: a daemon has its groups from its start).
 */
export interface GroupSpec {
  name: string;
}

export interface DirSpec {
  path: string;
  mode?: number;
  owner?: string;
  group?: string;
}

/**
 * A daemon's own config checker, run on a staging copy before anything goes
 * live. `reads` names every file and directory the checker reads: its config
 * and the files that config names. The checker is due when a file under
 * `reads` changes, and the staging root then holds the live copies of all of
 * `reads` with the role's changed files on top, so it always sees a whole
 * configuration, never only the part that changed. In `run`, `{stage}` is the
 * staging root; a checker that needs a derived file (a config pointing at
 * staged paths) writes it under `{work}`, a scratch dir.
 */
export interface CheckSpec {
  name: string;
  reads: string[];
  run: string;
}

/**
 * A command run after files under `when` changed: by default before services
 * reload (postmap, newaliases), or after them (obtaining a certificate needs
 * the web server up). `unless` is a shell test evaluated with the facts; when
 * it fails the handler is due even if no file changed (a certificate that is
 * missing, a key not generated yet).
 */
export interface HandlerSpec {
  name: string;
  when: string[];
  run: string;
  unless?: string;
  phase?: "before-reload" | "after-reload";
}

export interface ServiceSpec {
  unit: string;
  /** Default true: enabled at boot and running. */
  enabled?: boolean;
  /** How a config change is picked up; default "reload". */
  onChange?: "reload" | "restart";
  /** Files under these paths belong to this service: a change reloads it. */
  watch: string[];
  /** Health: after a (re)load the unit is active and these TCP ports answer on loopback. */
  ports?: number[];
  /**
   * Health as a client sees it, checked after the ports answer and only when
   * the unit was (re)loaded in this run: a failure rolls the change back. Built
   * with ./probes.ts (STARTTLS on 587, IMAPS greeting on 993, ...).
   */
  probes?: ProbeSpec[];
}

/** A check a client would make, on the host over loopback (./probes.ts). */
export interface ProbeSpec {
  /** What the client does, as a failure names it: "STARTTLS on 587". */
  name: string;
  /** A call of a function of ./probes.sh: prints what the client saw and fails when the check fails. */
  run: string;
}

export interface RoleState {
  role: string;
  /** debconf answers set before packages install (debconf-set-selections lines). */
  debconf?: string[];
  packages: string[];
  /** System users the role's files and daemons run as (created right after packages). */
  users?: UserSpec[];
  /** System groups (created right after the users). */
  groups?: GroupSpec[];
  dirs?: DirSpec[];
  files: FileSpec[];
  /** Files that must not exist (a package's default site, say); removed with a backup. */
  absent?: string[];
  checks?: CheckSpec[];
  handlers?: HandlerSpec[];
  services?: ServiceSpec[];
  /**
   * What the role used to install and no longer wants (a daemon another one
   * replaced): after the role's services are back up, these units are
   * stopped and disabled and these packages removed (not purged: their
   * config stays for an admin to read). Nothing happens on a host that never
   * had them.
   */
  retired?: RetiredSpec;
}

/**
 * What a role no longer wants. Units alone (no packages): units the role's own
 * packages bring but it keeps stopped and disabled, also on the run that installs them.
 */
export interface RetiredSpec {
  units?: string[];
  packages?: string[];
}

/** What a host looks like now, gathered in one round-trip. */
export interface Facts {
  /** sha256 hex, mode, owner and group of each managed path; absent when the file does not exist. */
  files: Record<string, { sha256: string; mode: number; owner: string; group: string } | undefined>;
  dirs: Record<string, { mode: number; owner: string; group: string } | undefined>;
  /** Installed version of each package, absent when not installed. */
  packages: Record<string, string | undefined>;
  units: Record<string, { active: string; enabled: string }>;
  /** System users that exist. */
  users: string[];
  /** System groups that exist (of those asked about). */
  groups?: string[];
  /** Handler guards (`unless`) that failed, by handler name. */
  dueHandlers: string[];
  /** What the host is, when the facts script asked (see ./host-facts.ts). */
  host?: HostFacts;
  /**
   * Paths an earlier apply moved into place whose handlers and reloads it
   * never finished (it was cut off), by role: they count as changed once more.
   */
  pending?: Record<string, string[]>;
}
