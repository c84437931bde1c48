// What the backup tests compare: every mailbox as a real client sees it, and
// files on a lab host by content hash.
import { createHash } from "node:crypto";
import { onHost, podkit, type Run } from "./helpers";
import { imapClient } from "./mailclients";
import type { LabPod, Pods } from "./pods";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Each mailbox of an account (as IMAP lists it) -> sorted content hashes of its messages. Logging in is part of it. */
export async function mailboxDigest(pods: Pods, pod: LabPod, user: string, password: string): Promise<Record<string, string[]>> {
  const client = await imapClient(pods, pod, user, password);
  const out: Record<string, string[]> = {};
  try {
    for (const box of await client.list()) {
      const lock = await client.getMailboxLock(box.path);
      try {
        const hashes: string[] = [];
        const exists = (client.mailbox && typeof client.mailbox === "object" ? client.mailbox.exists : 0) ?? 0;
        if (exists > 0) for await (const msg of client.fetch("1:*", { source: true })) if (msg.source) hashes.push(sha256(msg.source));
        out[box.path] = hashes.sort();
      } finally {
        lock.release();
      }
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
  return out;
}

/** sha256 of every file the shell glob/find expression names on a lab host, by path. */
export async function fileDigest(pods: Pods, host: string, findArgs: string): Promise<Record<string, string>> {
  const r = await onHost(pods.lab, host, `find ${findArgs} -type f -print0 2>/dev/null | sort -z | xargs -0 -r sha256sum`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split("\n").filter(Boolean)) {
    const [hash, ...path] = line.split(/\s+/);
    out[path.join(" ")] = hash;
  }
  return out;
}

/** `podkit <args>` that must succeed; returns its output and how long it took. */
export async function must(...args: string[]): Promise<Run & { seconds: number }> {
  const t = Date.now();
  const r = await podkit(...args);
  if (r.code !== 0) throw new Error(`podkit ${args.join(" ")} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return { ...r, seconds: (Date.now() - t) / 1000 };
}

/** The pod's restic, as root on its host, with the pod's own (append-only) login. */
export function podRestic(pods: Pods, args: string): Promise<Run> {
  return onHost(pods.lab, "a", `. /etc/podkit/backup/repository; RESTIC_PASSWORD_FILE=/etc/podkit/backup/passphrase restic ${args}`);
}
