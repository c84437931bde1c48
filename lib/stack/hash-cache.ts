// The password hashes `podkit` rendered before, kept on the admin's machine so
// a no-op apply does not spend a fifth of a second per account and daemon on
// 600,000 PBKDF2 rounds (lib/stack/passwords.ts). What is kept is what the
// hosts' /etc/dovecot/users and Prosody account files hold anyway, under keys
// that are HMACs with the pod's salt key; the file is the user's alone (0600 in
// a 0700 directory, $XDG_CACHE_HOME/podkit or ~/.cache/podkit). Deleting it
// costs one slower apply.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import type { HashCache } from "./passwords";

/** Enough for every account of a few pods and their password changes; the oldest go first. */
const MAX_ENTRIES = 2000;

export function defaultHashCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "podkit", "password-hashes.json");
}

export function fileHashCache(file = defaultHashCacheFile()): HashCache {
  let entries: Map<string, string> | undefined;
  const load = () => {
    if (entries) return entries;
    entries = new Map();
    try {
      // Only a file no one else can read or have written: anything else is ignored (and replaced).
      if (existsSync(file) && (statSync(file).mode & 0o077) === 0) {
        const data: unknown = JSON.parse(readFileSync(file, "utf8"));
        if (data && typeof data === "object") for (const [k, v] of Object.entries(data)) if (typeof v === "string") entries.set(k, v);
      }
    } catch {
      // A damaged cache is an empty one.
    }
    return entries;
  };
  return {
    get: (key) => load().get(key),
    set: (key, value) => {
      const all = load();
      all.set(key, value);
      while (all.size > MAX_ENTRIES) all.delete(all.keys().next().value!);
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.new`;
        writeFileSync(tmp, JSON.stringify(Object.fromEntries(all)), { mode: 0o600 });
        chmodSync(tmp, 0o600);
        renameSync(tmp, file);
      } catch {
        // A cache that cannot be written only makes the next run slower.
      }
    },
  };
}
