// The lab's shared package cache: Debian's apt-cacher-ng on the gateway, a caching HTTP
// proxy every lab host's apt is told to use, so a package is fetched from the mirror once
// per machine however many hosts install it (eight workshop seats cost one download).
// Why apt-cacher-ng:
// - a host's apt keeps its production sources.list (deb.debian.org, debian-security) and
//   only learns a proxy (Acquire::http::Proxy), so what it installs is what a real host installs;
// - a file several hosts ask for at once is downloaded once and streamed to all of them
//   while it arrives: seats applied in parallel do not race each other to the mirror;
// - each host keeps its own /var/cache/apt and dpkg lock: one archive directory bind-mounted
//   into every host would make their apt runs wait on each other's lock;
// - index files (InRelease, Packages) are revalidated against the mirror, so hosts see updates.
// The proxy setting is a fact of the lab host, written when the host is prepared (host.ts),
// never by a role: the roles stay the same for lab and real hosts.
// https://www.unix-ag.uni-kl.de/~bloch/acng/html/index.html
import * as fs from "node:fs";
import * as path from "node:path";
import { LAB, PATHS, RUN_DIR } from "./config";
import { startDaemon, stopDaemon, waitFor } from "./proc";

const RUN = path.join(RUN_DIR, "apt-cache");
/** apt-cacher-ng's own log: one line per file delivered (O) or fetched from the mirror (I). */
export const APT_CACHE_LOG = path.join(RUN, "apt-cacher.log");
/** Where a lab host learns the proxy (named 00- so no later file of Debian's is read first). */
export const APT_PROXY_FILE = "etc/apt/apt.conf.d/00podkit-lab-proxy";

/** The proxy URL lab hosts use. */
export const aptProxyUrl = () => `http://${LAB.gateway}:${LAB.aptCachePort}/`;

/** What a lab host's apt reads: every http source through the lab's cache (https sources go direct). */
export function aptProxyConf(): string {
  return `// managed by podkit lab: packages through the lab's shared cache (apt-cacher-ng on the gateway).\nAcquire::http::Proxy "${aptProxyUrl()}";\n`;
}

/** apt-cacher-ng's configuration: the lab's mirrors as its only backends, cache under LAB_DIR, log and socket under RUN_DIR. */
export function aptCacheConf(): string {
  // Debian's default backend for /debian is ftp.debian.org; the lab's hosts name LAB.mirror.
  const mirror = LAB.mirror.replace(/\/?$/, "/");
  const security = LAB.securityMirror.replace(/\/?$/, "/");
  return `# managed by podkit lab: the shared package cache (acng.conf, see /etc/apt-cacher-ng/acng.conf)
CacheDir: ${PATHS.aptCache}
LogDir: ${RUN}
SupportDir: /usr/lib/apt-cacher-ng
Port: ${LAB.aptCachePort}
# The lab bridge only: never a proxy for the network the laptop is on.
BindAddress: ${LAB.gateway}
SocketPath: ${path.join(RUN, "socket")}
PidFile: ${path.join(RUN, "pid")}
ForeGround: 1
# Both Debian archives the lab's hosts use, each fetched from one mirror.
Remap-debrep: file:deb_mirror*.gz /debian ; ${mirror}
Remap-secdeb: security.debian.org security.debian.org/debian-security deb.debian.org/debian-security /debian-security ; ${security}
# Package files unreferenced by any index for this many days are dropped by the expiry task.
ExThreshold: 4
ReportPage: acng-report.html
`;
}

/** Starts apt-cacher-ng on gateway:aptCachePort (the bridge must have its address). */
export async function aptCacheUp(): Promise<void> {
  fs.mkdirSync(RUN, { recursive: true });
  fs.mkdirSync(PATHS.aptCache, { recursive: true });
  fs.writeFileSync(path.join(RUN, "acng.conf"), aptCacheConf());
  startDaemon("apt-cache", "apt-cacher-ng", ["-c", RUN]);
  await waitFor("the package cache (apt-cacher-ng)", async () => {
    try {
      const r = await fetch(`http://${LAB.gateway}:${LAB.aptCachePort}/acng-report.html`, { signal: AbortSignal.timeout(1000) });
      return r.ok;
    } catch {
      return false;
    }
  }, 10000, 100);
}

export async function aptCacheDown(): Promise<void> {
  await stopDaemon("apt-cache");
}

export interface CacheLine {
  /** I: fetched from the mirror for a client; O: delivered to a client. */
  kind: "I" | "O";
  bytes: number;
  client: string;
  /** The file, under apt-cacher-ng's archive name: "debrep/pool/main/p/postfix/postfix_3.10...deb". */
  file: string;
}

/** The lines of apt-cacher-ng's log (time|kind|bytes|client|file), delivered and fetched only. */
export function parseCacheLog(text: string): CacheLine[] {
  const out: CacheLine[] = [];
  for (const line of text.split("\n")) {
    const [, kind, bytes, client, file] = line.split("|");
    if ((kind === "I" || kind === "O") && file) out.push({ kind, bytes: Number(bytes), client, file: file.split(" ")[0] });
  }
  return out;
}

/**
 * For one client's package files (.deb): how many it got and how many of those were
 * fetched from the mirror more than once (by anyone). Zero means every package it got
 * came from the mirror at most once for the whole lab: the cache served the rest.
 */
export function packagesFromCache(lines: CacheLine[], client: string): { delivered: number; fetchedTwice: string[] } {
  const debs = new Set(lines.filter((l) => l.kind === "O" && l.client === client && l.file.endsWith(".deb")).map((l) => l.file));
  const fetched = new Map<string, number>();
  for (const l of lines) if (l.kind === "I") fetched.set(l.file, (fetched.get(l.file) ?? 0) + 1);
  return { delivered: debs.size, fetchedTwice: [...debs].filter((f) => (fetched.get(f) ?? 0) > 1) };
}
