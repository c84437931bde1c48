// The Debian releases podkit renders configs for, as data: a host's profile
// names its release by codename, and a role reads here the few facts that
// differ between releases (most of a pod's software takes the same config on
// both). A release not listed here is refused before any host is touched: its
// daemons may read the roles' files differently, and nothing has checked them.
// Upgrading a pod from one release to the next is a rebuild (back up, a new
// host on the new release, apply, restore), never `apt full-upgrade` in place.

export interface DebianRelease {
  /** What /etc/os-release calls it (VERSION_CODENAME), and what a profile says. */
  codename: string;
  /** VERSION_ID: "12". */
  version: string;
  /** Hetzner's image of it. */
  image: string;
  /**
   * Dovecot's configuration generation: 2.4 rewrote the syntax (passdb and
   * userdb blocks, mail_driver/mail_path, quota and sieve settings), and a 2.3
   * file does not load in 2.4 nor the other way round.
   */
  dovecot: "2.3" | "2.4";
  /**
   * Prosody 13 has push notifications (mod_cloud_notify) and stream
   * management (mod_smacks) in core; 0.12 takes them from prosody-modules.
   */
  prosody: "0.12" | "13";
  /**
   * nginx 1.25 turned HTTP/2 into a directive of its own (`http2 on;`) and
   * warns about the `listen ... http2` parameter, the only form 1.22 knows.
   */
  nginxHttp2Directive: boolean;
}

export const RELEASES: readonly DebianRelease[] = [
  { codename: "bookworm", version: "12", image: "debian-12", dovecot: "2.3", prosody: "0.12", nginxHttp2Directive: false },
  { codename: "trixie", version: "13", image: "debian-13", dovecot: "2.4", prosody: "13", nginxHttp2Directive: true },
];

/** What a new Hetzner server runs unless its stack names another image. */
export const NEWEST_RELEASE = RELEASES[RELEASES.length - 1];

export function releaseNamed(codename: string): DebianRelease | undefined {
  return RELEASES.find((r) => r.codename === codename);
}

/** The release a Hetzner image installs, or undefined for an image that is not one of them. */
export function releaseOfImage(image: string): DebianRelease | undefined {
  return RELEASES.find((r) => r.image === image);
}

/** The codenames, for messages and schema enums. */
export const RELEASE_CODENAMES = RELEASES.map((r) => r.codename) as [string, ...string[]];

/** Why podkit will not render for `what` (a codename, or an image), and what to do instead. */
export function unsupportedRelease(what: string): string {
  const list = RELEASES.map((r) => `Debian ${r.version} (${r.codename})`).join(" or ");
  return `podkit renders configs for ${list} only, not for ${what}: `
    + "its daemons may read them differently. Put the pod on a supported release "
    + "(a new host, then `podkit apply` and `podkit restore`); upgrading in place is not supported";
}

/** The release, or an error saying which releases are supported. */
export function mustRelease(codename: string, where = codename): DebianRelease {
  const r = releaseNamed(codename);
  if (!r) throw new Error(unsupportedRelease(where));
  return r;
}
